"""``POST /hooks/articles``: the CMS pushes a signed article (see :mod:`distro.sources.webhook`)."""

from __future__ import annotations

import time

import fastapi
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from distro.services.ingest import store_pushed
from distro.sources.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookRejected, parse_payload, verify
from distro.web.deps import MAX_BODY_BYTES, AppDep, read_limited

router = fastapi.APIRouter()
WEBHOOK_SOURCE = "webhook"  # the Source row that pushed articles belong to


@router.post("/hooks/articles")
async def receive_articles(request: fastapi.Request, app: AppDep) -> JSONResponse:
    """Verify the signature and timestamp, then store the article(s) exactly as a poll would."""
    body = await read_limited(request)
    if body is None:
        return JSONResponse({"error": f"body larger than {MAX_BODY_BYTES} bytes"}, status_code=413)
    secret = app.settings.web.webhook_secret
    try:
        verify(
            secret.get_secret_value() if secret else None,
            body,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            now=time.time(),
            max_age=app.settings.web.webhook_max_age_seconds,
        )
        drafts = parse_payload(body)
    except WebhookRejected as exc:
        return JSONResponse({"error": exc.reason}, status_code=exc.status)
    report = await run_in_threadpool(store_pushed, app, WEBHOOK_SOURCE, "webhook", drafts)
    return JSONResponse(
        {"stored": len(drafts), "new": report.new, "updated": report.updated}, status_code=202
    )
