"""Every desk page on a phone: at 375 CSS pixels nothing sticks out sideways (tables scroll inside their
own box, the nav wraps, long URLs break). The pages are found from the web app's routes, so a desk page
added later is measured too; each is screenshotted into artifacts/e2e/ for a person to look at. The
installation has real content first (ingested articles, subscribers, a queued and dispatched edition,
planned social posts, a source added on the desk), since empty tables never overflow. Pages are found
from :data:`distro.web.app.ROUTERS`."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import time_machine
from fastapi.routing import APIRoute
from playwright.sync_api import Browser, Page, expect

from distro.app import App
from distro.db import session_scope
from distro.models import DeskSource
from distro.services.delivery import dispatch
from distro.services.digest_compose import open_edition
from distro.services.digest_send import queue_edition
from distro.services.editors import add_editor
from distro.services.ingest import ingest
from distro.services.social import plan_social
from distro.services.subscribers import add_subscriber
from distro.web.app import ROUTERS
from tests.web.axe import axe_violations
from tests.web.browser import PHONE, Serve, horizontal_overflow, new_page, screenshot

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ADMIN, PASSWORD = "admin@meridian-review.example", "correct horse battery staple"
SKIPPED = {"/desk/login"}  # measured signed out: a signed-in visit is sent on to the dashboard


@pytest.fixture
def content(app: App, clock: time_machine.Traveller) -> Iterator[dict[str, str]]:
    """A week's real content; the values the desk's parametrised paths are filled with."""
    ingest(app)
    for n in range(6):
        add_subscriber(app, f"reader{n}@a-rather-long-domain-name-for-a-phone.example.org")
    digest = open_edition(app, app.settings.digest).digest
    assert digest is not None
    queue_edition(app, app.settings.digest, digest)
    plan_social(app)
    dispatch(app, ["email"])
    with session_scope(app.engine) as session:
        session.add(
            DeskSource(
                name="a-source-with-a-long-name-added-on-the-desk",
                url="https://feeds.a-very-long-host-name-for-a-news-wire.example/world/europe/rss.xml",
                created_by="editor:" + ADMIN,
            )
        )
    add_editor(app, ADMIN, PASSWORD, role="admin")
    yield {"slug": digest.slug, "subscriber_id": "1", "id": "1"}


def desk_pages(values: dict[str, str]) -> list[str]:
    """Every GET page under /desk, its path parameters filled in (a parameter we cannot fill: skipped)."""
    paths = []
    for route in (route for router in ROUTERS for route in router.routes):
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        if not route.path.startswith("/desk") or route.path in SKIPPED or re.search(r"\.\w+$", route.path):
            continue  # not a desk page, signed out, or a file (export.csv, preview.txt)
        names = re.findall(r"{(\w+)(?::\w+)?}", route.path)
        if all(n in values for n in names):
            paths.append(re.sub(r"{(\w+)(?::\w+)?}", lambda m: values[m.group(1)], route.path))
    return sorted(set(paths))


def sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_no_desk_page_scrolls_sideways_at_375_px(
    app: App, content: dict[str, str], serve: Serve, browser: Browser
) -> None:
    server = serve(app)
    pages = desk_pages(content)
    assert {"/desk", "/desk/sources", "/desk/social", "/desk/log", "/desk/digest"} <= set(pages)
    page = new_page(browser, viewport=PHONE)
    wide: dict[str, int] = {}
    try:
        page.goto(server.link("/desk/login"))
        if horizontal_overflow(page):
            wide["/desk/login"] = int(page.evaluate("document.documentElement.scrollWidth"))
        screenshot(page, "desk-375px-login")
        sign_in(page, server.link("/desk/login"))
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        for path in pages:
            response = page.goto(server.link(path))
            assert response is not None and response.status == 200, (path, response and response.status)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"] or horizontal_overflow(page):
                wide[path] = int(width)
            screenshot(page, "desk-375px" + (path.removeprefix("/desk").replace("/", "-") or "-dashboard"))
    finally:
        page.context.close()
    assert wide == {}, f"wider than {PHONE['width']} px: {wide}"


def test_every_desk_page_has_no_axe_violation(
    app: App, content: dict[str, str], serve: Serve, browser: Browser
) -> None:
    """axe-core (WCAG A/AA and best practices) on every desk page found from the routes, signed out and in;
    the context lets axe's script past the desk's CSP, which allows no script."""
    server = serve(app)
    page = new_page(browser, bypass_csp=True)
    found: dict[str, list[str]] = {}
    try:
        page.goto(server.link("/desk/login"))
        if violations := axe_violations(page):
            found["/desk/login"] = violations
        sign_in(page, server.link("/desk/login"))
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        for path in desk_pages(content):
            page.goto(server.link(path))
            if violations := axe_violations(page):
                found[path] = violations
    finally:
        page.context.close()
    assert found == {}
