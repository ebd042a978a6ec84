"""/desk/sources in headless Chromium against a real loopback publication: an admin dry-runs a feed (first
without leave to read private addresses: the fetcher refuses), adds it, pauses it, polls it now and removes
it, each with its activity row; an editor and a viewer read the page and may change nothing (403)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect

from distro.app import App
from distro.models import Activity
from distro.services.editors import add_editor
from distro.services.ingest import ingest
from distro.web.app import create_web_app
from tests.conftest import EXAMPLE_FEED
from tests.fakes.http_server import FakeHTTPServer, http_server
from tests.web.browser import PHONE, Serve, horizontal_overflow, new_page, screenshot
from tests.web.desk import csrf_of, login

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ADMIN, VIEWER, EDITOR = (
    "admin@meridian-review.example",
    "viewer@meridian-review.example",
    "ed@meridian-review.example",
)
PASSWORD = "correct horse battery staple"


@pytest.fixture
def site() -> Iterator[FakeHTTPServer]:
    with http_server() as server:
        server.route(
            "/feed/", body=EXAMPLE_FEED.read_bytes(), headers={"Content-Type": "application/rss+xml"}
        )
        yield server


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = new_page(browser, viewport=PHONE)
    yield opened
    opened.context.close()


def row(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'tr[data-source="{name}"]')


def test_an_admin_adds_pauses_polls_and_removes_a_source(
    app: App, site: FakeHTTPServer, serve: Serve, page: Page, clock: time_machine.Traveller
) -> None:
    app.settings.web.desk_private_sources = True  # the publication is on loopback
    add_editor(app, ADMIN, PASSWORD, role="admin")
    server = serve(app)
    page.goto(server.link("/desk/sources"))
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sources", exact=True)).to_be_visible()

    page.get_by_label("Name").fill("wire")
    page.get_by_label("URL").fill(site.url("/feed/"))
    page.get_by_label("On its first poll").fill("2")
    page.get_by_role("button", name="Dry run").click()
    expect(page.get_by_role("alert")).to_contain_text("loopback, private or link-local")
    assert not site.requests  # refused before connecting
    expect(page.get_by_label("Name")).to_have_value("wire")  # what was typed is kept

    page.get_by_label("Allow loopback and private addresses").check()
    page.get_by_role("button", name="Dry run").click()
    expect(page.get_by_role("heading", name="Dry run: wire")).to_be_visible()
    fates = page.locator("tr.preview-item td.fate").all_inner_texts()
    assert sorted(fates) == ["back catalogue"] * 10 + ["new"] * 2
    expect(page.locator("#dry-run")).to_be_visible()
    assert ingest(app)[0].new == 12  # the dry run stored nothing: the TOML source still finds all new
    assert horizontal_overflow(page) == 0
    screenshot(page, "desk-sources-dry-run-375px")

    page.get_by_role("button", name="Add wire and poll it").click()
    expect(page.get_by_role("status")).to_contain_text("Added wire")
    expect(row(page, "wire")).to_contain_text("added on the desk")
    assert [r.source for r in ingest(app)] == ["meridian-review", "wire"]

    row(page, "wire").get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status")).to_contain_text("Paused wire")
    expect(row(page, "wire")).to_contain_text("paused")
    assert [r.source for r in ingest(app)] == ["meridian-review"]

    polls = len(site.requests_to("/feed/"))
    row(page, "wire").get_by_role("button", name="Poll now").click()
    expect(page.get_by_role("status")).to_contain_text("Polled wire")
    assert len(site.requests_to("/feed/")) == polls + 1

    row(page, "wire").get_by_role("button", name="Remove (keep articles)").click()
    expect(page.get_by_role("status")).to_contain_text("Removed wire; its articles are kept.")
    expect(row(page, "wire")).to_contain_text("no longer configured")
    screenshot(page, "desk-sources-removed-375px")

    with app.engine.connect() as c:
        query = sa.select(Activity.actor, Activity.action).order_by(sa.column("id"))  # type: ignore[call-overload]
        actions = [tuple(r) for r in c.execute(query) if r.action.startswith("source.")]
    actor = f"editor:{ADMIN}"
    assert actions == [
        (actor, "source.add"),
        (actor, "source.pause"),
        (actor, "source.poll"),
        (actor, "source.remove"),
    ]


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_change_sources(app: App, role: str, clock: time_machine.Traveller) -> None:
    app.settings.web.desk_private_sources = True
    email = VIEWER if role == "viewer" else EDITOR
    add_editor(app, email, PASSWORD, role=role)
    with TestClient(create_web_app(app)) as client:
        assert login(client, email, PASSWORD, "/desk/sources").status_code == 303
        shown = client.get("/desk/sources")
        assert shown.status_code == 200 and "meridian-review" in shown.text
        assert "Add a source" not in shown.text and "Poll now" not in shown.text
        csrf = csrf_of(shown.text)  # the sign-out form's
        for action in ("dry-run", "add", "poll", "pause", "resume", "remove"):
            form = {
                "csrf_token": csrf,
                "name": "meridian-review",
                "url": "http://127.0.0.1:9/",
                "kind": "feed",
            }
            answer = client.post(f"/desk/sources/{action}", data=form, follow_redirects=False)
            assert answer.status_code == 403, (action, answer.status_code)
    with app.engine.connect() as c:
        assert (
            c.execute(
                sa.select(sa.func.count()).select_from(Activity).where(Activity.action.startswith("source."))
            ).scalar()
            == 0
        )  # type: ignore[attr-defined]
