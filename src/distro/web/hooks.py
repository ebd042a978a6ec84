"""``POST /hooks/articles``: the CMS pushes a signed article (see :mod:`distro.sources.webhook`).

The route reads the raw body itself (the signature covers its exact bytes); the headers and body are
declared for the OpenAPI schema only, so the schema fuzz test (tests/web/test_fuzz.py) sends them.
"""

from __future__ import annotations

from typing import Annotated, Any

import fastapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from distro.models import utcnow
from distro.services.webhook import receive_webhook
from distro.sources.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from distro.web.deps import MAX_BODY_BYTES, AppDep, read_limited

router = fastapi.APIRouter()


class PushCounts(BaseModel):
    stored: int
    new: int
    updated: int
    stale: int  # older than the stored version of the article: left alone


class HookError(BaseModel):
    error: str


_STRING = {"type": "string"}
_ARTICLE: dict[str, Any] = {
    "type": "object",
    "required": ["url"],
    "properties": {
        "url": {"type": "string", "pattern": "^https?://[^/?#\\s]+"},  # absolute http(s), canonical
        **{
            name: _STRING
            for name in ("guid", "title", "summary", "content", "author", "section", "image_url")
        },
        "published_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
        "categories": {"type": "array", "items": _STRING},
    },
}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        _ARTICLE,
                        {"type": "object", "properties": {"articles": {"type": "array", "items": _ARTICLE}}},
                    ]
                }
            }
        },
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": HookError, "description": what}
    for code, what in {
        400: "a malformed timestamp or body (the error names the field)",
        401: "a missing, bad or stale signature",
        409: "a replay: this signature was already accepted",
        413: "a body over the size limit",
        503: "the webhook is not configured",
    }.items()
}


@router.post(
    "/hooks/articles", status_code=202, response_model=PushCounts, responses=_ERRORS, openapi_extra=_BODY
)
async def receive_articles(
    request: fastapi.Request,
    app: AppDep,
    x_distro_timestamp: Annotated[str | None, fastapi.Header(alias=TIMESTAMP_HEADER)] = None,
    x_distro_signature: Annotated[str | None, fastapi.Header(alias=SIGNATURE_HEADER)] = None,
) -> JSONResponse:
    """Verify the signature and timestamp, refuse a replay, then store the article(s) as a poll would."""
    body = await read_limited(request)
    if body is None:
        return JSONResponse({"error": f"body larger than {MAX_BODY_BYTES} bytes"}, status_code=413)
    answer = await run_in_threadpool(
        lambda: receive_webhook(
            app, body, timestamp=x_distro_timestamp, signature=x_distro_signature, now=utcnow()
        )
    )
    return JSONResponse(answer.body, status_code=answer.status)
