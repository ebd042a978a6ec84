"""GET/POST /desk/editors: the desk's accounts and their roles, for admins only (``distro editors`` on the
desk). Every change goes through :mod:`distro.services.editors` with the admin as its actor, so it is in the
activity record; an admin cannot take away their own admin role or remove themselves (someone must be
left who can), which the command line still can.
"""

from __future__ import annotations

import fastapi
from fastapi.responses import HTMLResponse, Response

from distro.errors import DistroError, InvalidInput
from distro.services.editors import ROLES, add_editor, list_editors, remove_editor, set_role
from distro.web.desk_auth import DeskAdmin, DeskAdminPost, DeskForm, render_desk
from distro.web.desk_flash import back, read_flash

router = fastapi.APIRouter(prefix="/desk")


@router.get("/editors", response_model=None)
def editors_page(desk: DeskAdmin, request: fastapi.Request) -> Response:
    flash = read_flash(request, desk)
    page: HTMLResponse = render_desk(
        desk,
        desk.app,
        "editors",
        "Editors",
        notice=flash.notice,
        error=flash.error,
        editors=list_editors(desk.app),
        roles=ROLES,
    )
    return flash.clear(page)


def _back(form: DeskForm, *, notice: str | None = None, error: str | None = None) -> Response:
    return back(form.desk, "/desk/editors", notice=notice, error=error)


def _not_me(form: DeskForm, email: str, what: str) -> None:
    if email.strip().casefold() == form.desk.email.casefold():
        raise InvalidInput(f"you cannot {what} your own account here; another admin can, or `distro editors`")


@router.post("/editors/add", response_model=None)
def editors_add(form: DeskAdminPost) -> Response:
    email, role = form.get("email"), form.get("role") or "editor"
    try:
        add_editor(
            form.desk.app, email, form.fields.get("password", [""])[0], role=role, actor=form.desk.actor
        )
    except DistroError as exc:
        return _back(form, error=f"Not added: {exc}.")
    return _back(form, notice=f"{email.strip().casefold()} can sign in as {role}.")


@router.post("/editors/role", response_model=None)
def editors_role(form: DeskAdminPost) -> Response:
    email, role = form.get("email"), form.get("role")
    try:
        if role != "admin":
            _not_me(form, email, "lower the role of")
        set_role(form.desk.app, email, role, actor=form.desk.actor)
    except DistroError as exc:
        return _back(form, error=f"Not changed: {exc}.")
    return _back(form, notice=f"{email} is now {role}.")


@router.post("/editors/remove", response_model=None)
def editors_remove(form: DeskAdminPost) -> Response:
    email = form.get("email")
    try:
        _not_me(form, email, "remove")
        remove_editor(form.desk.app, email, actor=form.desk.actor)
    except DistroError as exc:
        return _back(form, error=f"Not removed: {exc}.")
    return _back(form, notice=f"{email} can no longer sign in; their sessions have ended.")
