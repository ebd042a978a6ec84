"""Desk sign-in, sessions and CSRF through the real routes, on SQLite and PostgreSQL.

A small page router stands in for the desk pages so these tests pin the guard itself: every desk page
and form uses the same two dependencies. The lockout has its own file (test_desk_lockout.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import fastapi
import pytest
import sqlalchemy as sa
from fastapi.responses import HTMLResponse, Response
from fastapi.testclient import TestClient

from distro.app import App
from distro.models import EditorSession, utcnow
from distro.services.editors import EditorError, add_editor, remove_editor, set_password
from distro.web import desk_auth
from distro.web.app import ROUTERS, create_web_app
from distro.web.desk_auth import DeskDep, DeskPost, render_desk, see_other
from tests.web.desk import EDITOR, PASSWORD, csrf_of, field, login, signed_in

probe = fastapi.APIRouter(prefix="/desk")
CHANGES: list[str] = []


@probe.get("/probe")
def probe_page(desk: DeskDep) -> HTMLResponse:
    return render_desk(desk, desk.app, "login", "Probe", login_csrf="", next_url="", email="")


@probe.post("/probe")
def probe_post(form: DeskPost) -> Response:
    CHANGES.append(form.get("value"))
    return see_other("/desk/probe")


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    CHANGES.clear()
    with TestClient(create_web_app(app, routers=[*ROUTERS, probe])) as test_client:
        yield test_client


def test_sign_in_session_cookie_and_sign_out(app: App, client: TestClient) -> None:
    assert client.get("/desk/probe", follow_redirects=False).headers["location"] == (
        "/desk/login?next=%2Fdesk%2Fprobe"
    )
    csrf = signed_in(app, client, "/desk/probe")
    cookie = next(c for c in client.cookies.jar if c.name == "distro_desk")
    assert cookie.has_nonstandard_attr("HttpOnly")
    with app.engine.connect() as connection:
        stored = connection.execute(sa.select(EditorSession.id)).scalar_one()
    assert cookie.value not in stored and len(stored) == 64  # only a hash is kept
    assert client.post("/desk/probe", data={"csrf_token": csrf, "value": "a"}).status_code == 200
    assert CHANGES == ["a"]
    assert client.post("/desk/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/desk/probe", follow_redirects=False).status_code == 303
    with app.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(EditorSession)).scalar_one() == 0


def test_forms_without_the_session_csrf_token_change_nothing(app: App, client: TestClient) -> None:
    csrf = signed_in(app, client, "/desk/probe")
    assert client.post("/desk/probe", data={"value": "missing"}).status_code == 403
    assert (
        client.post("/desk/probe", data={"value": "forged", "csrf_token": "x" * len(csrf)}).status_code == 403
    )
    cross_site = client.post(
        "/desk/probe", data={"value": "cross", "csrf_token": csrf}, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    assert client.post("/desk/logout", data={}).status_code == 403  # signing out needs the token too
    assert CHANGES == []
    client.cookies.clear()
    assert client.post("/desk/probe", data={"value": "anon", "csrf_token": csrf}).status_code == 401
    assert CHANGES == []


def test_sign_in_form_needs_its_own_token_and_never_redirects_off_site(app: App, client: TestClient) -> None:
    add_editor(app, EDITOR, PASSWORD)
    no_cookie = TestClient(create_web_app(app)).post(
        "/desk/login", data={"email": EDITOR, "password": PASSWORD, "login_csrf": "guess"}
    )
    assert no_cookie.status_code == 403 and "expired" in no_cookie.text
    response = login(client, next_url="https://evil.example/phish")
    assert response.status_code == 303 and response.headers["location"] == "/desk"
    client.cookies.clear()
    assert login(client, next_url="//evil.example").headers["location"] == "/desk"


def test_sign_in_attempts_per_ip_are_throttled(app: App, client: TestClient) -> None:
    app.settings.web.login_per_ip_per_hour = 3
    add_editor(app, EDITOR, PASSWORD)
    assert [login(client, email=f"n{i}@example.org").status_code for i in range(3)] == [401, 401, 401]
    throttled = login(client)  # even the right password, from this address, for now
    assert throttled.status_code == 429 and "Too many" in throttled.text


def test_password_change_and_removal_end_sessions(app: App, client: TestClient) -> None:
    signed_in(app, client, "/desk/probe")
    set_password(app, EDITOR, "another long password")
    assert client.get("/desk/probe", follow_redirects=False).status_code == 303
    assert login(client).status_code == 401
    assert login(client, password="another long password").status_code == 303
    remove_editor(app, EDITOR)
    assert client.get("/desk/probe", follow_redirects=False).status_code == 303


def test_expired_session_is_refused(app: App, client: TestClient) -> None:
    signed_in(app, client, "/desk/probe")
    with app.engine.begin() as connection:
        connection.execute(sa.update(EditorSession).values(expires_at=utcnow()))
    assert client.get("/desk/probe", follow_redirects=False).status_code == 303


def test_https_site_uses_a_secure_host_only_cookie(app: App) -> None:
    app.settings.web.public_url = "https://news.example"
    add_editor(app, EDITOR, PASSWORD)
    with TestClient(create_web_app(app), base_url="https://testserver") as client:
        response = login(client)
    header = response.headers["set-cookie"]
    assert header.startswith("__Host-distro_desk=")
    assert "Secure" in header and "HttpOnly" in header and "Path=/" in header and "SameSite=lax" in header


def test_editor_accounts_validate_and_store_only_a_hash(app: App) -> None:
    with pytest.raises(EditorError, match="at least"):
        add_editor(app, EDITOR, "short")
    editor = add_editor(app, " Editor@Meridian-Review.example ", PASSWORD)
    assert editor.email == EDITOR and editor.password_hash.startswith("$argon2id$")
    assert PASSWORD not in editor.password_hash
    with pytest.raises(EditorError, match="already"):
        add_editor(app, EDITOR, PASSWORD)


def test_pages_are_not_framed_or_cached(app: App, client: TestClient) -> None:
    page = client.get("/desk/login")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert field(page.text, "login_csrf")
    _ = (csrf_of, desk_auth)
