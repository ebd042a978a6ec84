"""Roles on the desk: the guards every desk form goes through, on SQLite and PostgreSQL.

Probe routes stand in for the desk's forms (each real page has its own role tests): viewers are refused
every POST but signing out, ``DeskAdminPost``/``DeskAdmin`` let admins only, and a new role holds at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import fastapi
import pytest
from fastapi.responses import HTMLResponse, Response
from fastapi.testclient import TestClient

from distro.app import App
from distro.services.editors import add_editor, set_role
from distro.web.app import ROUTERS, create_web_app
from distro.web.desk_auth import DeskAdmin, DeskAdminPost, DeskDep, DeskPost, render_desk, see_other
from tests.web.desk import PASSWORD, csrf_of, login

probe = fastapi.APIRouter(prefix="/desk")
CHANGES: list[str] = []


@probe.get("/probe")
def probe_page(desk: DeskDep) -> HTMLResponse:
    return render_desk(desk, desk.app, "login", f"Probe {desk.role}", login_csrf="", next_url="", email="")


@probe.get("/probe/admin")
def probe_admin_page(desk: DeskAdmin) -> HTMLResponse:
    return render_desk(desk, desk.app, "login", "Admin probe", login_csrf="", next_url="", email="")


@probe.post("/probe")
def probe_post(form: DeskPost) -> Response:
    CHANGES.append(f"{form.desk.email}:{form.get('value')}")
    return see_other("/desk/probe")


@probe.post("/probe/admin")
def probe_admin_post(form: DeskAdminPost) -> Response:
    CHANGES.append(f"admin {form.desk.email}:{form.get('value')}")
    return see_other("/desk/probe")


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    CHANGES.clear()
    with TestClient(create_web_app(app, routers=[*ROUTERS, probe])) as test_client:
        yield test_client


def sign_in_as(app: App, client: TestClient, role: str) -> str:
    email = f"{role}@meridian-review.example"
    add_editor(app, email, PASSWORD, role=role)
    assert login(client, email=email, next_url="/desk/probe").status_code == 303
    page = client.get("/desk/probe")
    assert page.status_code == 200 and f"Probe {role}" in page.text
    return csrf_of(page.text)


@pytest.mark.parametrize(
    ("role", "post", "admin_post", "admin_page"),
    [("viewer", 403, 403, 403), ("editor", 200, 403, 403), ("admin", 200, 200, 200)],
)
def test_each_role_gets_what_it_may(
    app: App, client: TestClient, role: str, post: int, admin_post: int, admin_page: int
) -> None:
    csrf = sign_in_as(app, client, role)
    answer = client.post("/desk/probe", data={"csrf_token": csrf, "value": "a"})
    assert answer.status_code == post
    if post == 403:
        assert "may read but not change anything" in answer.text
    assert client.post("/desk/probe/admin", data={"csrf_token": csrf, "value": "b"}).status_code == admin_post
    assert client.get("/desk/probe/admin").status_code == admin_page
    expected = [f"{role}@meridian-review.example:a"] if post == 200 else []
    expected += [f"admin {role}@meridian-review.example:b"] if admin_post == 200 else []
    assert expected == CHANGES
    # Every role may sign out.
    assert client.post("/desk/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/desk/probe", follow_redirects=False).status_code == 303


def test_a_viewer_still_needs_the_token_and_a_new_role_holds_at_once(app: App, client: TestClient) -> None:
    csrf = sign_in_as(app, client, "viewer")
    assert client.post("/desk/probe", data={"value": "no token"}).status_code == 403
    set_role(app, "viewer@meridian-review.example", "editor")
    assert client.post("/desk/probe", data={"csrf_token": csrf, "value": "c"}).status_code == 200
    assert client.post("/desk/probe", data={"value": "no token"}).status_code == 403
    assert CHANGES == ["viewer@meridian-review.example:c"]
