"""``/r/<token>``: a tracked link's redirect; ``/o/<token>.gif``: the open pixel.

The redirector answers only tokens it signed for a link it stored, with a redirect to that stored URL: it
is not an open redirect, and a forged, altered, truncated or unknown token gets a small 404 page and no
``Location``. Recording the hit (:mod:`distro.services.clicks`) never stands in the way: a failure to
record is logged and the reader is redirected all the same; only the lookup of the URL needs the
database (503 while it is away). ``Cache-Control: no-store``, so every click reaches us, and
``Referrer-Policy: no-referrer``, so the destination does not learn the token.
"""

from __future__ import annotations

import base64
import logging
from typing import Annotated, Any

import fastapi
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from distro.app import App
from distro.services.clicks import Visit, follow, opened
from distro.web.deps import AppDep
from distro.web.headers import was_head

log = logging.getLogger(__name__)
router = fastapi.APIRouter()
# The smallest transparent 1x1 GIF (42 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}
_GONE: dict[int | str, dict[str, Any]] = {
    404: {**_HTML, "description": "not a link (or pixel) distro made: forged, altered or unknown"},
    503: {**_HTML, "description": "the database is unavailable"},
}
_LINK_RESPONSES: dict[int | str, dict[str, Any]] = {
    302: {"description": "to the link's stored URL", "headers": {"Location": {"schema": {"type": "string"}}}},
    **_GONE,
}
_PIXEL_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/gif": {"schema": {"type": "string", "format": "binary"}}}, "description": "1x1"},
    **_GONE,
}
Reader = Annotated[str | None, fastapi.Query(alias="u", description="per-reader token (tracking.per_reader)")]


def _visit(request: fastapi.Request, reader: str | None) -> Visit:
    """What the request says about its sender: kept only as the visitor hash, never stored as such."""
    client = request.client.host if request.client else ""
    agent = request.headers.get("user-agent", "")
    return Visit(client_ip=client, user_agent=agent, head=was_head(request), reader=reader)


def _page(app: App, status: int, message: str) -> HTMLResponse:
    html = app.templates.get_template("web/message.html.j2").render(
        publication=app.settings.publication, title="Link not found", message=message, error=True
    )
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


def _not_found(app: App) -> HTMLResponse:
    return _page(app, 404, "This link is not valid. Use the link from the email, exactly as it was sent.")


def _unavailable(app: App) -> HTMLResponse:
    return _page(app, 503, "This link cannot be followed just now. Please try again in a few minutes.")


@router.get("/r/{token}", status_code=302, response_class=Response, responses=_LINK_RESPONSES)
async def tracked_link(token: str, request: fastapi.Request, app: AppDep, reader: Reader = None) -> Response:
    """Redirect to the link's stored URL, counting the click when it is a person's (a HEAD, a scanner or
    a burst is stored but not counted)."""
    try:
        url = await run_in_threadpool(follow, app, token, _visit(request, reader))
    except SQLAlchemyError:
        log.exception("a tracked link could not be looked up")
        return _unavailable(app)
    if url is None:
        return _not_found(app)
    return RedirectResponse(url, status_code=302, headers=NO_STORE)


@router.get("/o/{token}.gif", response_class=Response, responses=_PIXEL_RESPONSES)
async def open_pixel(token: str, request: fastapi.Request, app: AppDep, reader: Reader = None) -> Response:
    """The transparent pixel of ``tracking.opens``; hits from mailbox proxies are machine opens."""
    try:
        known = await run_in_threadpool(opened, app, token, _visit(request, reader))
    except SQLAlchemyError:
        log.exception("an open pixel could not be looked up")
        return _unavailable(app)
    if not known:
        return _not_found(app)
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)
