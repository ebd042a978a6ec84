"""/desk/editors in headless Chromium: an admin adds an editor with a role, changes it and removes them,
each change in the activity record; an admin cannot demote or remove themselves; editors and viewers get
403 for the page and its forms. Every other desk form refuses a viewer (403) too.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect

from distro.app import App
from distro.models import Activity
from distro.services.editors import add_editor, list_editors
from distro.web.app import ROUTERS, create_web_app
from tests.web.browser import Serve
from tests.web.desk import csrf_of, login
from tests.web.test_e2e_desk_people import PASSWORD, check_page, csrf, editor_of, phone, sign_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
__all__ = ["phone"]  # the fixture, shared with the subscribers' browser tests


def test_an_admin_manages_editors_and_roles(app: App, serve: Serve, phone: Page) -> None:
    add_editor(app, editor_of("admin"), PASSWORD, role="admin")
    server = serve(app)
    sign_in(phone, server, "admin", "/desk/editors")
    phone.get_by_label("Address").fill("Kim@Meridian-Review.example")
    phone.get_by_label("Password (at least 10 characters)").fill("another long passphrase")
    phone.get_by_label("Role", exact=True).select_option("viewer")
    phone.get_by_role("button", name="Add", exact=True).click()
    expect(phone.get_by_role("status")).to_have_text("kim@meridian-review.example can sign in as viewer.")
    check_page(phone, "desk-editors-admin-375px")
    phone.get_by_label("Role of kim@meridian-review.example", exact=True).select_option("editor")
    phone.get_by_role("button", name="Change the role of kim@meridian-review.example").click()
    expect(phone.get_by_role("status")).to_have_text("kim@meridian-review.example is now editor.")
    phone.get_by_label("Role of admin@meridian-review.example", exact=True).select_option("viewer")
    phone.get_by_role("button", name="Change the role of admin@meridian-review.example").click()
    expect(phone.get_by_role("alert")).to_contain_text("you cannot lower the role of your own account")
    assert phone.get_by_role("button", name="Remove admin@meridian-review.example").count() == 0
    phone.get_by_role("button", name="Remove kim@meridian-review.example").click()
    expect(phone.get_by_role("status")).to_contain_text("can no longer sign in")
    assert [(e.email, e.role) for e in list_editors(app)] == [("admin@meridian-review.example", "admin")]
    with app.engine.connect() as connection:
        query = sa.select(Activity.actor, Activity.action, Activity.detail).where(
            Activity.actor == "editor:admin@meridian-review.example",
            Activity.action.like("editor.%"),  # type: ignore[attr-defined]
        )
        rows = [tuple(r) for r in connection.execute(query.order_by(sa.column("id")))]
    assert rows == [
        ("editor:admin@meridian-review.example", "editor.add", "viewer"),
        ("editor:admin@meridian-review.example", "editor.role", "viewer -> editor"),
        ("editor:admin@meridian-review.example", "editor.remove", ""),
    ]


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_admins_reach_the_editors_page(app: App, serve: Serve, phone: Page, role: str) -> None:
    add_editor(app, editor_of(role), PASSWORD, role=role)
    server = serve(app)
    sign_in(phone, server, role, "/desk/subscribers")
    assert phone.get_by_role("link", name="Editors").count() == 0
    assert phone.request.get(server.link("/desk/editors")).status == 403
    for action in ("add", "role", "remove"):
        answer = phone.request.post(
            server.link(f"/desk/editors/{action}"),
            form={"csrf_token": csrf(phone), "email": "x@example.org", "password": "p" * 12, "role": "admin"},
        )
        assert answer.status == 403, action
    assert [e.email for e in list_editors(app)] == [editor_of(role)]


def test_a_viewer_is_refused_every_desk_form_but_signing_out(app: App) -> None:
    """Every POST route the desk has, each with a valid CSRF token: 403, whatever the form would do."""
    web = create_web_app(app)
    add_editor(app, editor_of("viewer"), PASSWORD, role="viewer")
    with TestClient(web) as client:
        signed_in = login(client, email=editor_of("viewer"), password=PASSWORD, next_url="/desk/activity")
        assert signed_in.status_code == 303
        token = csrf_of(client.get("/desk/activity").text)
        posts = sorted(
            route.path  # type: ignore[attr-defined]
            for router in ROUTERS
            for route in router.routes
            if "POST" in getattr(route, "methods", set()) and route.path.startswith("/desk/")  # type: ignore[attr-defined]
            and route.path not in ("/desk/login", "/desk/logout")  # type: ignore[attr-defined]
        )  # fmt: skip
        assert "/desk/digest/send" in posts and "/desk/subscribers/{subscriber_id}/forget" in posts
        refused = {
            path: client.post(re.sub(r"\{[^}]+\}", "1", path), data={"csrf_token": token}) for path in posts
        }
        assert {path: r.status_code for path, r in refused.items()} == dict.fromkeys(posts, 403)
        assert (
            client.post("/desk/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
        )
