"""``POST /hooks/bounces/<provider>``: ESP bounce and complaint webhooks (SES through SNS, Postmark,
Mailgun, SendGrid), verified as each provider documents (:mod:`distro.services.bounce_hooks`).

The route reads the raw body itself (signatures cover its exact bytes) and hands every header on; the
body is declared for the OpenAPI schema only, so the schema fuzz test sends something.
"""

from __future__ import annotations

from typing import Any

import fastapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from distro.models import utcnow
from distro.services.bounce_hooks import receive_bounce_hook
from distro.web.deps import MAX_BODY_BYTES, AppDep, read_limited

router = fastapi.APIRouter()


class BounceHookError(BaseModel):
    error: str


class BounceHookEvents(BaseModel):
    events: list[dict[str, Any]]
    confirmed: bool = False


_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"anyOf": [{"type": "object"}, {"type": "array"}]}}},
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": BounceHookError, "description": what}
    for code, what in {
        400: "a verified call that is not in the provider's shape",
        401: "unsigned, forged, stale, or from an unexpected sender: nothing changed",
        404: "a provider distro does not know",
        409: "a replay: this call was already accepted",
        413: "a body over the size limit",
        502: "the SNS subscription confirmation could not be fetched",
        503: "the provider is not configured",
    }.items()
}


async def _receive(request: fastapi.Request, app: AppDep, provider: str, secret: str | None) -> JSONResponse:
    body = await read_limited(request)
    if body is None:
        return JSONResponse({"error": f"body larger than {MAX_BODY_BYTES} bytes"}, status_code=413)
    headers = dict(request.headers.items())
    answer = await run_in_threadpool(
        lambda: receive_bounce_hook(app, provider, headers, body, now=utcnow(), path_secret=secret)
    )
    return JSONResponse(answer.body, status_code=answer.status)


@router.post(
    "/hooks/bounces/{provider}", response_model=BounceHookEvents, responses=_ERRORS, openapi_extra=_BODY
)
async def receive_bounces(request: fastapi.Request, app: AppDep, provider: str) -> JSONResponse:
    """One webhook call from ``ses``, ``postmark``, ``mailgun`` or ``sendgrid``: verified, then each bounce
    or complaint acted on (hard: suppressed; soft: counted; complaint: unsubscribed and suppressed)."""
    return await _receive(request, app, provider, None)


@router.post(
    "/hooks/bounces/postmark/{secret}",
    response_model=BounceHookEvents,
    responses=_ERRORS,
    openapi_extra=_BODY,
)
async def receive_postmark_bounces(request: fastapi.Request, app: AppDep, secret: str) -> JSONResponse:
    """Postmark with the secret path segment instead of basic auth (``postmark_path_secret``)."""
    return await _receive(request, app, "postmark", secret)
