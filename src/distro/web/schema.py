"""The OpenAPI schema (``/openapi.json``) claims only what the routes declare.

FastAPI documents the body of every route without a response model as ``application/json`` with an empty
schema, a guess that is false for the subscriber pages and the desk (HTML, plain text, redirects). A schema
that lies cannot be checked against the responses (tests/web/test_fuzz.py does), so that guess is dropped:
a route documents its body by declaring it (``response_model``, ``responses=``, ``response_class``).
"""

from __future__ import annotations

from typing import Any

import fastapi

_GUESS: dict[str, Any] = {"application/json": {"schema": {}}}


def drop_guessed_bodies(web: fastapi.FastAPI) -> None:
    """Make ``web.openapi()`` leave out FastAPI's guessed JSON bodies (once, when first built)."""
    build = web.openapi

    def openapi() -> dict[str, Any]:
        if web.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    for response in operation.get("responses", {}).values():
                        if response.get("content") == _GUESS:
                            del response["content"]
        return build()

    web.openapi = openapi  # type: ignore[method-assign]
