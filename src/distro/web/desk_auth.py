"""The editor's desk: sign-in, sign-out, and what every desk page needs (session, CSRF check, layout).

A desk page takes :data:`DeskDep` (GET: the signed-in editor, or a redirect to the sign-in page) and a
form handler takes :data:`DeskPost`, which also checks the session's CSRF token in the ``csrf_token``
field and the ``Origin`` header, so no other site can post a form for a signed-in editor. The session
cookie is HttpOnly and SameSite=Lax, and ``Secure`` with the ``__Host-`` prefix when the public URL is
https. The sign-in form itself carries a double-submit token (login CSRF) and is throttled per client IP;
wrong passwords lock that client, and then the account, out for a while (:mod:`distro.services.editors`).
Every refused sign-in gets the same page with the same status, whatever the reason.

Roles (:data:`distro.services.editors.ROLES`): a viewer reads every page, and :data:`DeskPost` answers
every form a viewer posts with 403 (signing out excepted); :data:`DeskAdminPost` and :data:`DeskAdmin`
let only admins through (sources, accounts, API tokens, editors). The role is read with every request.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlsplit

import fastapi
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from distro.app import App
from distro.services.activity import editor_actor
from distro.services.editors import (
    REFUSED,
    DeskSession,
    LoginRefused,
    authenticate,
    close_session,
    open_session,
    session_of,
)
from distro.services.limits import allow
from distro.web.deps import AppDep, read_limited

router = fastapi.APIRouter(prefix="/desk")
FORM_LIMIT = 256 * 1024  # an intro or post text, not uploads
LOGIN_COOKIE = "distro_desk_login"
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Digest previews are iframes with srcdoc, which inherit this policy: their inline styles and remote
    # images must load; scripts never run anywhere on the desk.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: https: http:; "
        "frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


def _secure(app: App) -> bool:
    return app.settings.web.public_url.lower().startswith("https://")


def session_cookie(app: App) -> str:
    return "__Host-distro_desk" if _secure(app) else "distro_desk"


@dataclass(frozen=True, slots=True)
class Desk:
    """The request's App and signed-in editor."""

    app: App
    session: DeskSession

    @property
    def csrf(self) -> str:
        return self.session.csrf_token

    @property
    def email(self) -> str:
        return self.session.email

    @property
    def role(self) -> str:
        return self.session.role

    @property
    def actor(self) -> str:
        """Who this is in the activity record."""
        return editor_actor(self.session.email)

    @property
    def can_edit(self) -> bool:
        """Editors and admins may change things; viewers only read."""
        return self.session.role in ("admin", "editor")

    @property
    def is_admin(self) -> bool:
        return self.session.role == "admin"


def _login_redirect(request: fastapi.Request) -> fastapi.HTTPException:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return fastapi.HTTPException(303, headers={"Location": f"/desk/login?next={quote(target, safe='')}"})


async def current_desk(request: fastapi.Request, app: AppDep) -> Desk:
    """The signed-in editor; a GET without a session is sent to the sign-in page, anything else gets 401."""
    found = await run_in_threadpool(session_of, app, request.cookies.get(session_cookie(app)))
    if found is None:
        if request.method in ("GET", "HEAD"):
            raise _login_redirect(request)
        raise fastapi.HTTPException(401, "sign in at /desk/login first")
    return Desk(app, found)


DeskDep = Annotated[Desk, fastapi.Depends(current_desk)]

VIEWER_REFUSED = "your desk account may read but not change anything (role: viewer); ask an admin"
ADMIN_ONLY = "only an admin may do this on the desk; ask an admin"


async def admin_desk(desk: DeskDep) -> Desk:
    """The signed-in editor when they are an admin (403 otherwise)."""
    if not desk.is_admin:
        raise fastapi.HTTPException(403, ADMIN_ONLY)
    return desk


DeskAdmin = Annotated[Desk, fastapi.Depends(admin_desk)]


@dataclass(frozen=True, slots=True)
class DeskForm:
    """A posted desk form whose CSRF token matched; ``get`` gives a field's first value, stripped."""

    desk: Desk
    fields: dict[str, list[str]]

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0].strip() if values else default

    def getlist(self, name: str) -> list[str]:
        return [v.strip() for v in self.fields.get(name, []) if v.strip()]


def _same_origin(request: fastapi.Request, app: App) -> bool:
    """A browser's Origin (when it sends one) must be this site, as reached or as configured."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # old browsers and non-browser clients; the token still has to match
    here = f"{request.url.scheme}://{request.url.netloc}"
    public = urlsplit(app.settings.web.public_url)
    return origin in (here, f"{public.scheme}://{public.netloc}")


async def parse_form(request: fastapi.Request) -> dict[str, list[str]]:
    body = await read_limited(request, FORM_LIMIT)
    if body is None:
        raise fastapi.HTTPException(413, "form too large")
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


async def checked_form(request: fastapi.Request, desk: Desk) -> DeskForm:
    """The form, once its ``csrf_token`` field matches the session's token (else 403, nothing changes)."""
    fields = await parse_form(request)
    offered = (fields.get("csrf_token") or [""])[0]
    if not _same_origin(request, desk.app) or not hmac.compare_digest(
        offered.encode("utf-8"), desk.csrf.encode("utf-8")
    ):
        raise fastapi.HTTPException(403, "the form's security token is missing or stale; reload the page")
    return DeskForm(desk, fields)


async def desk_form(request: fastapi.Request, desk: DeskDep) -> DeskForm:
    """A form an editor or admin posted (CSRF checked); a viewer gets 403 and nothing changes."""
    if not desk.can_edit:
        raise fastapi.HTTPException(403, VIEWER_REFUSED)
    return await checked_form(request, desk)


async def desk_admin_form(request: fastapi.Request, desk: DeskDep) -> DeskForm:
    """A form only an admin may post (sources, accounts, API tokens, editors); 403 for anyone else."""
    if not desk.is_admin:
        raise fastapi.HTTPException(403, ADMIN_ONLY)
    return await checked_form(request, desk)


async def any_desk_form(request: fastapi.Request, desk: DeskDep) -> DeskForm:
    """A form every signed-in role may post (signing out)."""
    return await checked_form(request, desk)


UPLOAD_LIMIT = 20 * 1024 * 1024  # a subscriber CSV


@dataclass(frozen=True, slots=True)
class DeskUpload:
    """A posted ``multipart/form-data`` desk form whose CSRF token matched: text fields and files."""

    desk: Desk
    fields: dict[str, str]
    files: dict[str, tuple[str, bytes]]  # field name -> (file name as sent, content)


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Text fields and files of a multipart body (the standard library's MIME parser; a part without a
    name is skipped). Raises 400 for a body that is not multipart."""
    from email.parser import BytesParser
    from email.policy import HTTP

    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        raise fastapi.HTTPException(400, "the form must be sent as multipart/form-data")
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files.setdefault(name, (filename, data))
        else:
            fields.setdefault(name, data.decode("utf-8", "replace"))
    return fields, files


async def desk_upload(request: fastapi.Request, desk: DeskDep) -> DeskUpload:
    """An upload an editor or admin posted (viewers 403), its ``csrf_token`` field checked as for forms."""
    if not desk.can_edit:
        raise fastapi.HTTPException(403, VIEWER_REFUSED)
    body = await read_limited(request, UPLOAD_LIMIT)
    if body is None:
        raise fastapi.HTTPException(413, f"the file is larger than {UPLOAD_LIMIT // (1024 * 1024)} MB")
    fields, files = parse_multipart(request.headers.get("content-type", ""), body)
    offered = fields.get("csrf_token", "")
    if not _same_origin(request, desk.app) or not hmac.compare_digest(
        offered.encode("utf-8"), desk.csrf.encode("utf-8")
    ):
        raise fastapi.HTTPException(403, "the form's security token is missing or stale; reload the page")
    return DeskUpload(desk, fields, files)


DeskPost = Annotated[DeskForm, fastapi.Depends(desk_form)]
DeskUploadPost = Annotated[DeskUpload, fastapi.Depends(desk_upload)]
DeskAdminPost = Annotated[DeskForm, fastapi.Depends(desk_admin_form)]
DeskAnyPost = Annotated[DeskForm, fastapi.Depends(any_desk_form)]


def render_desk(
    desk: Desk | None, app: App, template: str, title: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """A desk page from ``templates/web/desk/<template>.html.j2`` inside the desk layout."""
    html = app.templates.get_template(f"web/desk/{template}.html.j2").render(
        publication=app.settings.publication,
        title=title,
        editor=desk.session.email if desk else None,
        desk_role=desk.role if desk else None,
        can_edit=desk.can_edit if desk else False,
        csrf=desk.csrf if desk else "",
        active=template,
        **{"notice": None, "error": None, **context},
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def see_other(location: str) -> RedirectResponse:
    """After a successful POST: back to a page (Post/Redirect/Get)."""
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


def _safe_next(target: str | None) -> str:
    """Only a path on the desk: an open redirect would make the sign-in page a phishing tool."""
    if target and target.startswith("/desk") and not target.startswith("//") and "\\" not in target:
        return target
    return "/desk"


def _within_ip_limit(app: App, client: str) -> bool:
    """Within the sign-in attempts allowed per client IP, counted in the database: every web process
    shares the count (:mod:`distro.services.limits`)."""
    limit = app.settings.web.login_per_ip_per_hour
    return allow(app.engine, f"desk-login:ip:{client}", limit=limit, window_seconds=3600.0)


def _refused(app: App) -> str:
    """One text for an unknown address, a wrong password and a lock, so the page never tells them apart."""
    minutes = app.settings.web.login_lockout_minutes
    return (
        f"Not signed in: {REFUSED}. After {app.settings.web.login_max_failures} failed attempts from your "
        f"network, it waits at least {minutes} minutes before that address is tried again."
    )


def _login_page(app: App, *, next_url: str, error: str = "", email: str = "", status: int = 200) -> Response:
    nonce = secrets.token_urlsafe(24)
    page = render_desk(
        None,
        app,
        "login",
        "Sign in",
        status=status,
        error=error,
        email=email,
        next_url=next_url,
        login_csrf=nonce,
    )
    page.set_cookie(
        LOGIN_COOKIE, nonce, max_age=3600, httponly=True, samesite="strict", secure=_secure(app), path="/desk"
    )
    return page


@router.get("/login", response_model=None)
async def login_page(request: fastapi.Request, app: AppDep, next: str | None = None) -> Response:
    if await run_in_threadpool(session_of, app, request.cookies.get(session_cookie(app))) is not None:
        return see_other(_safe_next(next))
    return _login_page(app, next_url=_safe_next(next))


@router.post("/login", response_model=None)
async def login(request: fastapi.Request, app: AppDep) -> Response:
    fields = await parse_form(request)

    def field(name: str) -> str:
        return (fields.get(name) or [""])[0]

    next_url, email = _safe_next(field("next")), field("email").strip()
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not hmac.compare_digest(nonce.encode(), field("login_csrf").encode()):
        return _login_page(
            app,
            next_url=next_url,
            email=email,
            status=403,
            error="The sign-in form expired. Please try again.",
        )
    client = request.client.host if request.client else "unknown"
    if not await run_in_threadpool(_within_ip_limit, app, client):
        return _login_page(
            app,
            next_url=next_url,
            email=email,
            status=429,
            error="Too many sign-in attempts from your network. Try again later.",
        )
    try:
        editor = await run_in_threadpool(authenticate, app, email, field("password"), client=client)
    except LoginRefused:
        return _login_page(app, next_url=next_url, email=email, status=401, error=_refused(app))
    token = await run_in_threadpool(open_session, app, editor)
    response = see_other(next_url)
    response.set_cookie(
        session_cookie(app),
        token,
        max_age=app.settings.web.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=_secure(app),
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/desk")
    return response


@router.post("/logout")
async def logout(request: fastapi.Request, form: DeskAnyPost) -> Response:
    app = form.desk.app
    await run_in_threadpool(close_session, app, request.cookies.get(session_cookie(app)))
    response = see_other("/desk/login")
    response.delete_cookie(session_cookie(app), path="/", secure=_secure(app), httponly=True)
    return response
