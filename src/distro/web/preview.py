"""The editor's web preview of the upcoming digest: desktop (600 px) and phone (375 px) side by side.

The page embeds exactly the bytes of :func:`distro.services.digest.render_preview`, the same bytes that
``distro digest preview`` writes; ``/editor/preview/digest.html`` and ``.txt`` serve them raw.

Digests are not public before they are sent, so every route needs the editor token
(``DISTRO_WEB__EDITOR_TOKEN``) as a bearer token or as the password of HTTP Basic auth (a browser asks for
it). This is a stopgap: the editor desk login replaces it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import html
from typing import Annotated

import fastapi
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from distro.app import App
from distro.services.digest import PreviewPage, compose_weekly, render_preview
from distro.web.deps import AppDep

router = fastapi.APIRouter(prefix="/editor/preview")
WIDTHS = (("Desktop", 600), ("Phone", 375))
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="distro editor", charset="UTF-8"'}
_NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def _offered_token(authorization: str | None) -> bytes | None:
    """The token in ``Authorization: Bearer <token>`` or the password of ``Basic``; None if absent."""
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip().encode("utf-8")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        return decoded.partition(b":")[2]
    return None


def require_editor(request: fastapi.Request, app: AppDep) -> App:
    """The App when the request carries the editor token (constant-time compare); else 401 or 503."""
    configured = app.settings.web.editor_token
    if configured is None:
        raise fastapi.HTTPException(503, "the preview is off: set DISTRO_WEB__EDITOR_TOKEN to turn it on")
    offered = _offered_token(request.headers.get("Authorization"))
    expected = configured.get_secret_value().encode("utf-8")
    if offered is None or not hmac.compare_digest(offered, expected):
        raise fastapi.HTTPException(401, "the editor token is missing or wrong", headers=_CHALLENGE)
    return app


EditorApp = Annotated[App, fastapi.Depends(require_editor)]
Subscriber = Annotated[
    str | None, fastapi.Query(description="Preview as this subscriber gets it (their sections and links).")
]


def upcoming(app: App, subscriber: str | None) -> PreviewPage:
    """This week's digest as ``distro digest preview`` renders it (composed first when needed)."""
    result = compose_weekly(app)
    if result.digest is None:
        raise fastapi.HTTPException(404, f"nothing to preview: {result.reason}")
    try:
        return render_preview(app, result.digest, email=subscriber or None)
    except LookupError as exc:
        raise fastapi.HTTPException(404, str(exc)) from None


@router.get("", response_class=HTMLResponse)
def preview_page(app: EditorApp, subscriber: Subscriber = None) -> HTMLResponse:
    """Both widths side by side; each iframe's ``srcdoc`` holds the exact message HTML."""
    page = upcoming(app, subscriber)
    source = html.escape(page.html.decode("utf-8"), quote=True)
    frames = "".join(
        f'<figure><figcaption>{label} · {width} px</figcaption><iframe title="{label} preview" '
        f'width="{width}" height="1600" sandbox="allow-popups" srcdoc="{source}"></iframe></figure>'
        for label, width in WIDTHS
    )
    warning = f'<p class="warning">{html.escape(page.warning)}</p>' if page.warning else ""
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Digest preview</title>'
        "<style>body{font-family:system-ui,sans-serif;margin:16px;background:#eee}"
        "main{display:flex;gap:24px;align-items:flex-start}figure{margin:0}"
        "iframe{border:1px solid #999;background:#fff}.warning{color:#a00}</style></head><body>"
        f"<h1>Digest preview</h1>{warning}<main>{frames}</main></body></html>"
    )
    return HTMLResponse(body, headers=_NO_STORE)


@router.get("/digest.html")
def preview_html(app: EditorApp, subscriber: Subscriber = None) -> Response:
    """The message's HTML part, byte for byte as ``distro digest preview`` writes it."""
    return Response(upcoming(app, subscriber).html, media_type="text/html; charset=utf-8", headers=_NO_STORE)


@router.get("/digest.txt")
def preview_text(app: EditorApp, subscriber: Subscriber = None) -> PlainTextResponse:
    """The message's plain-text part, byte for byte."""
    page = upcoming(app, subscriber)
    return PlainTextResponse(page.text, media_type="text/plain; charset=utf-8", headers=_NO_STORE)
