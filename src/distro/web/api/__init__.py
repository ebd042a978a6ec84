"""The REST API, ``/api/v1``: a FastAPI app of its own, mounted on the web app, with its own schema.

Its OpenAPI schema (``/api/v1/openapi.json``) holds only these routes (the desk's and the subscriber
pages' stay in the web app's own), every error it documents is a problem (:mod:`.problems`), and every
route asks for a bearer token (:mod:`.auth`). Each resource is one module; the routes are thin: they
parse, call the same use cases as the command line and the desk, and shape the answer.
"""

from __future__ import annotations

import re
from typing import Any

import fastapi
from starlette.routing import Mount

from distro.app import App
from distro.web.api.articles import router as articles
from distro.web.api.bodies import no_nul
from distro.web.api.deliveries import router as deliveries
from distro.web.api.editions import router as editions
from distro.web.api.posts import router as posts
from distro.web.api.problems import FieldProblem, Problem, install
from distro.web.api.reports import router as reports
from distro.web.api.subscribers import router as subscribers
from distro.web.api.suppressions import router as suppressions

PREFIX = "/api/v1"
ROUTERS: list[fastapi.APIRouter] = [
    articles,
    editions,
    subscribers,
    suppressions,
    deliveries,
    posts,
    reports,
]


def _with_problems(api: fastapi.FastAPI) -> None:
    """Add the Problem schemas the routes' error responses refer to (no route returns one as a model)."""
    build = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (Problem, FieldProblem):
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(found.pop("$defs", {}))
                components[model.__name__] = found
        return build()

    api.openapi = openapi  # type: ignore[method-assign]


def create_api(app: App) -> fastapi.FastAPI:
    """The ``/api/v1`` app for ``app`` (mount it at :data:`PREFIX`)."""
    api = fastapi.FastAPI(
        title=f"{app.settings.publication.name} · distro API",
        version="1",
        description="Articles, editions, subscribers, suppressions, deliveries, social posts and reports. "
        "Authorization: Bearer <token> (distro api-tokens create). Errors are RFC 9457 problems; lists "
        "answer next_cursor, sent back as ?cursor= for the next page.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        dependencies=[fastapi.Depends(no_nul)],
    )
    api.state.distro = app
    install(api)
    for router in ROUTERS:
        api.include_router(router)
    _with_problems(api)
    return api


def mount_api(web: fastapi.FastAPI, app: App) -> None:
    """Mount the API at :data:`PREFIX` on ``web``. Every path under it goes to the API, one holding a line
    break too (Starlette's mount pattern stops at one, so the web app would answer its own 404 in JSON
    instead of a problem)."""
    web.mount(PREFIX, create_api(app))
    mount = web.router.routes[-1]
    assert isinstance(mount, Mount)
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)
