"""GET/POST /desk/api-tokens: the REST API's tokens on the desk, for admins only (``distro api-tokens``).

The same use cases as the command line (:mod:`distro.services.api_tokens`), with the admin as the actor,
so every create and revoke is in the activity record. A new token is shown once, in the body of the
answer to the form that made it (no-store, like every desk page): never in a redirect's address or a
flash cookie, and never again, since only its hash is kept. Revoking asks first: the list's "Revoke"
link opens the page with a confirmation, whose button posts ``confirm=yes``.
"""

from __future__ import annotations

import fastapi
from fastapi.responses import HTMLResponse, Response

from distro.errors import DistroError
from distro.services.api_tokens import Scope, create_token, list_tokens, revoke_token
from distro.web.desk_auth import Desk, DeskAdmin, DeskAdminPost, render_desk
from distro.web.desk_flash import back, read_flash

router = fastapi.APIRouter(prefix="/desk")
PAGE = "/desk/api-tokens"


def _page(
    desk: Desk,
    *,
    notice: str | None = None,
    error: str | None = None,
    created: dict[str, str] | None = None,
    confirm: str | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    tokens = list_tokens(desk.app)
    live = {t.name for t in tokens if t.revoked_at is None}
    return render_desk(
        desk,
        desk.app,
        "api_tokens",
        "API tokens",
        status=status,
        notice=notice,
        error=error,
        tokens=tokens,
        scopes=[s.value for s in Scope],
        created=created,
        confirm=confirm if confirm in live else None,
        typed=typed or {"name": "", "scope": Scope.read.value},
    )


@router.get("/api-tokens", response_model=None)
def api_tokens_page(desk: DeskAdmin, request: fastapi.Request, revoke: str | None = None) -> Response:
    flash = read_flash(request, desk)
    return flash.clear(_page(desk, notice=flash.notice, error=flash.error, confirm=revoke))


@router.post("/api-tokens/create", response_model=None)
def api_tokens_create(form: DeskAdminPost) -> Response:
    """Make the token and answer with it, this once (a 200 page, not a redirect: see the module)."""
    name, scope = form.get("name"), form.get("scope") or Scope.read.value
    try:
        token = create_token(form.desk.app, name, scope, actor=form.desk.actor)
    except DistroError as exc:
        return _page(
            form.desk, error=f"Not created: {exc}.", typed={"name": name, "scope": scope}, status=422
        )
    return _page(form.desk, created={"name": name, "scope": scope, "token": token})


@router.post("/api-tokens/revoke", response_model=None)
def api_tokens_revoke(form: DeskAdminPost) -> Response:
    name, desk = form.get("name"), form.desk
    if form.get("confirm") != "yes":
        return back(desk, PAGE, error=f"Not revoked: confirm revoking {name!r} first.")
    try:
        changed = revoke_token(desk.app, name, actor=desk.actor)
    except DistroError as exc:
        return back(desk, PAGE, error=f"Not revoked: {exc}.")
    if not changed:
        return back(desk, PAGE, notice=f"{name} was revoked already.")
    return back(desk, PAGE, notice=f"Revoked {name}: its next request to the API gets 401.")
