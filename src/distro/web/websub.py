"""The WebSub callback: ``GET /websub/{id}/{secret}`` (verification of intent), ``POST`` (content).

``/websub/{id}`` without a secret is the callback of subscriptions made before secret callbacks; it works
for those rows only until they are requested again (see :mod:`distro.services.websub`).
"""

from __future__ import annotations

from typing import Annotated, Any

import fastapi
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from distro.app import App
from distro.services.websub import receive_content, verify_intent
from distro.web.deps import MAX_BODY_BYTES, AppDep, read_limited

router = fastapi.APIRouter()


class PushAnswer(BaseModel):
    stored: int
    note: str


def _hub(name: str) -> Any:
    return fastapi.Query(alias=f"hub.{name}")


_TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}
_VERIFY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {**_TEXT, "description": "the challenge echoed (empty for an acknowledged denial)"},
    400: {**_TEXT, "description": "an unreadable hub.lease_seconds"},
    404: {**_TEXT, "description": "not a verification we are awaiting"},
}
_PUSH_RESPONSES: dict[int | str, dict[str, Any]] = {
    410: {"model": PushAnswer, "description": "no such subscription: stop pushing here"},
    413: {"model": PushAnswer, "description": "a body over the size limit"},
}
_PUSH_BODY = {
    "requestBody": {
        "content": {
            "application/xml": {"schema": {"type": "string"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        }
    }
}


async def _verify(
    app: App,
    subscription_id: int,
    secret: str | None,
    mode: str | None,
    topic: str | None,
    challenge: str | None,
    lease_seconds: str | None,
    reason: str | None,
) -> PlainTextResponse:
    answer = await run_in_threadpool(
        lambda: verify_intent(
            app,
            subscription_id,
            secret=secret,
            mode=mode or "",
            topic=topic or "",
            challenge=challenge or "",
            lease_seconds=lease_seconds,
            reason=reason or "",
        )
    )
    # nosniff: the challenge is echoed as given; no browser may read it as anything but text.
    return PlainTextResponse(answer.body, answer.status, headers={"X-Content-Type-Options": "nosniff"})


async def _content(
    app: App, subscription_id: int, secret: str | None, request: fastapi.Request, signature: str | None
) -> JSONResponse:
    body = await read_limited(request)
    if body is None:
        return JSONResponse({"stored": 0, "note": f"body larger than {MAX_BODY_BYTES} bytes"}, 413)
    result = await run_in_threadpool(receive_content, app, subscription_id, secret, body, signature)
    return JSONResponse({"stored": result.stored, "note": result.reason}, status_code=result.status)


Mode = Annotated[str | None, _hub("mode")]
Topic = Annotated[str | None, _hub("topic")]
Challenge = Annotated[str | None, _hub("challenge")]
Lease = Annotated[str | None, _hub("lease_seconds")]
Reason = Annotated[str | None, _hub("reason")]
Signature = Annotated[str | None, fastapi.Header(alias="X-Hub-Signature")]
# Row ids fit a 32-bit INTEGER: a larger one is a 422 here, not an OverflowError (a 500) in the driver.
SubscriptionId = Annotated[int, fastapi.Path(ge=1, le=2**31 - 1)]
_PUSH: dict[str, Any] = {
    "status_code": 202,
    "response_model": PushAnswer,
    "responses": _PUSH_RESPONSES,
    "openapi_extra": _PUSH_BODY,
}


@router.get(
    "/websub/{subscription_id}/{secret}", response_class=PlainTextResponse, responses=_VERIFY_RESPONSES
)
async def verify(
    subscription_id: SubscriptionId,
    secret: str,
    app: AppDep,
    mode: Mode = None,
    topic: Topic = None,
    challenge: Challenge = None,
    lease_seconds: Lease = None,
    reason: Reason = None,
) -> PlainTextResponse:
    """Echo ``hub.challenge`` for the subscription request we sent and are awaiting; 404 for anything else."""
    return await _verify(app, subscription_id, secret, mode, topic, challenge, lease_seconds, reason)


@router.post("/websub/{subscription_id}/{secret}", **_PUSH)
async def content(
    subscription_id: SubscriptionId,
    secret: str,
    request: fastapi.Request,
    app: AppDep,
    signature: Signature = None,
) -> JSONResponse:
    """New entries pushed by the hub, signed with our ``hub.secret``."""
    return await _content(app, subscription_id, secret, request, signature)


@router.get("/websub/{subscription_id}", response_class=PlainTextResponse, responses=_VERIFY_RESPONSES)
async def verify_old_callback(
    subscription_id: SubscriptionId,
    app: AppDep,
    mode: Mode = None,
    topic: Topic = None,
    challenge: Challenge = None,
    lease_seconds: Lease = None,
    reason: Reason = None,
) -> PlainTextResponse:
    """The callback of a subscription from before secret callbacks, until its next request."""
    return await _verify(app, subscription_id, None, mode, topic, challenge, lease_seconds, reason)


@router.post("/websub/{subscription_id}", **_PUSH)
async def content_old_callback(
    subscription_id: SubscriptionId, request: fastapi.Request, app: AppDep, signature: Signature = None
) -> JSONResponse:
    """Pushes to an old callback: taken while its row has no secret yet, else 410 so the hub drops it."""
    return await _content(app, subscription_id, None, request, signature)
