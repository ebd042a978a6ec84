"""The WebSub callback: ``GET /websub/{id}`` (verification of intent), ``POST /websub/{id}`` (content)."""

from __future__ import annotations

import fastapi
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from distro.services.websub import receive_content, verify_intent
from distro.web.deps import MAX_BODY_BYTES, AppDep, read_limited

router = fastapi.APIRouter()


@router.get("/websub/{subscription_id}")
async def verify(subscription_id: int, request: fastapi.Request, app: AppDep) -> PlainTextResponse:
    """Echo ``hub.challenge`` for a subscription we asked for; 404 for anything else."""
    query = request.query_params
    answer = await run_in_threadpool(
        lambda: verify_intent(
            app,
            subscription_id,
            mode=query.get("hub.mode", ""),
            topic=query.get("hub.topic", ""),
            challenge=query.get("hub.challenge", ""),
            lease_seconds=query.get("hub.lease_seconds"),
            reason=query.get("hub.reason", ""),
        )
    )
    return PlainTextResponse(answer.body, status_code=answer.status)


@router.post("/websub/{subscription_id}")
async def content(subscription_id: int, request: fastapi.Request, app: AppDep) -> JSONResponse:
    """New entries pushed by the hub, signed with our ``hub.secret``."""
    body = await read_limited(request)
    if body is None:
        return JSONResponse({"error": f"body larger than {MAX_BODY_BYTES} bytes"}, status_code=413)
    signature = request.headers.get("X-Hub-Signature")
    result = await run_in_threadpool(receive_content, app, subscription_id, body, signature)
    return JSONResponse({"stored": result.stored, "note": result.reason}, status_code=result.status)
