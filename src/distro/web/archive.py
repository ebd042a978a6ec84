"""The public web archive: ``/archive/`` (every archived newsletter), ``/archive/<prefix>/`` (one
newsletter), ``/archive/<slug>`` (one edition) and their Atom feeds, ``feed.atom`` in each list.

URL shapes cannot clash: a list ends with a slash, an edition does not, and a slug always holds a "-"
while a newsletter's prefix never does (``NEWSLETTER_PREFIX``); ``/archive/<prefix>`` without the slash
redirects to the list. Anything the archive does not show (unknown, unsent, kept out) is a 404 page.

The edition page shows HTML we composed from sanitised feed text (:mod:`distro.compose.archive`) under
:data:`EDITION_CSP`: the reader pages' policy (no script at all, inline styles, forms back here only) with
remote images allowed, since the stories' pictures live on the publication's site, as in the email.
Answers carry an ETag of their bytes and ``Cache-Control: no-cache``, so caches revalidate (an edition an
editor keeps out disappears at once) and an unchanged page costs a 304.
"""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Annotated, Any

import fastapi
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from distro.app import App
from distro.errors import NotFound
from distro.services import archive
from distro.web.archive_feed import atom_feed
from distro.web.deps import AppDep

router = fastapi.APIRouter(prefix="/archive")
MAX_PAGE = 100_000
EDITION_CSP = (
    "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: https: http:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
Page = Annotated[int, fastapi.Query(ge=1, le=MAX_PAGE, description="1: the newest 20 editions.")]
Prefix = Annotated[str, fastapi.Path(max_length=40, description="A newsletter's slug prefix.")]
Slug = Annotated[str, fastapi.Path(max_length=200, description="An edition's slug, e.g. weekly-2026-W48.")]


class AtomResponse(Response):
    media_type = "application/atom+xml"


def _answer(request: fastapi.Request, body: bytes, media_type: str, **headers: str) -> Response:
    """``body`` with its ETag, or 304 when the client holds exactly these bytes."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", **headers}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _html(
    app: App, request: fastapi.Request, template: str, headers: dict[str, str] | None = None, **context: Any
) -> Response:
    html = app.templates.get_template(f"web/archive/{template}.html.j2").render(
        publication=app.settings.publication, **context
    )
    return _answer(request, html.encode("utf-8"), "text/html; charset=utf-8", **(headers or {}))


def _not_found(app: App, exc: NotFound) -> HTMLResponse:
    html = app.templates.get_template("web/message.html.j2").render(
        publication=app.settings.publication, title="Archive", message=f"Not found: {exc}.", error=True
    )
    return HTMLResponse(html, status_code=404)


def _list(app: App, request: fastapi.Request, prefix: str | None, page: int) -> Response:
    try:
        listing = archive.listing(app, prefix, page)
    except NotFound as exc:
        return _not_found(app, exc)
    name = app.settings.publication.name
    return _html(
        app,
        request,
        "list",
        title=f"{listing.newsletter.name}: every edition" if listing.newsletter else "Archive",
        feed_title=f"{name} · {listing.newsletter.name if listing.newsletter else 'archive'}",
        listing=listing,
        list_url=partial(archive.list_url, app.settings),
        signup_url=f"{app.settings.web.public_url.rstrip('/')}/subscribe",
    )


def _feed(app: App, request: fastapi.Request, prefix: str | None) -> Response:
    try:
        feed = archive.feed(app, prefix)
    except NotFound as exc:
        return _not_found(app, exc)
    publication = app.settings.publication
    body = atom_feed(feed, author=publication.name, language=publication.language)
    return _answer(request, body, "application/atom+xml; charset=utf-8")


@router.get("/", response_class=HTMLResponse)
async def archive_index(request: fastapi.Request, app: AppDep, page: Page = 1) -> Response:
    """Every archived newsletter's sent editions, newest first."""
    return await run_in_threadpool(_list, app, request, None, page)


@router.get("/feed.atom", response_class=AtomResponse)
async def archive_feed(request: fastapi.Request, app: AppDep) -> Response:
    return await run_in_threadpool(_feed, app, request, None)


@router.get("/{prefix}/", response_class=HTMLResponse)
async def newsletter_archive(
    request: fastapi.Request, app: AppDep, prefix: Prefix, page: Page = 1
) -> Response:
    """One newsletter's sent editions, newest first."""
    return await run_in_threadpool(_list, app, request, prefix, page)


@router.get("/{prefix}/feed.atom", response_class=AtomResponse)
async def newsletter_feed(request: fastapi.Request, app: AppDep, prefix: Prefix) -> Response:
    return await run_in_threadpool(_feed, app, request, prefix)


def _edition(app: App, request: fastapi.Request, slug: str) -> Response:
    if any(n.slug_prefix == slug for n in archive.archived_newsletters(app.settings)):
        return RedirectResponse(archive.list_url(app.settings, app.settings.newsletter(slug)), 308)
    try:
        edition = archive.edition(app, slug)
    except NotFound as exc:
        return _not_found(app, exc)
    return _html(app, request, "edition", edition=edition, headers={"Content-Security-Policy": EDITION_CSP})


@router.get("/{slug}", response_class=HTMLResponse)
async def archived_edition(request: fastapi.Request, app: AppDep, slug: Slug) -> Response:
    """One sent edition as readers got it, without anything personal, with a sign-up form."""
    return await run_in_threadpool(_edition, app, request, slug)
