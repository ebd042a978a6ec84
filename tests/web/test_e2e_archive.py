"""The web archive in headless Chromium against a live server: a reader opens /archive/, follows an
edition, reads it, finds its feed and signs up from the page.

Nothing here depends on the database: SQLite only. The server's clock is pinned (the ``clock`` fixture), so
the edition sent is ``weekly-2026-W48``. Screenshots at a phone's and a desktop's width are saved in
artifacts/e2e/.
"""

from __future__ import annotations

import feedparser
import pytest
import time_machine
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from distro.app import App
from distro.services.digest_send import send_edition
from distro.services.ingest import ingest
from distro.services.subscribers import add_subscriber
from tests.web.browser import Serve, horizontal_overflow, new_page, screenshot, unlabelled_inputs

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
READERS = ("amira.quill@example.org", "bea.marsh@example.net")
DESKTOP = {"width": 1280, "height": 900}


def watch(page: Page) -> list[str]:
    """Console messages and page errors that name the Content Security Policy, or a script error."""
    found: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            found.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


def test_a_reader_browses_the_archive_reads_an_edition_and_signs_up(
    app: App, serve: Serve, browser: Browser, clock: time_machine.Traveller
) -> None:
    server = serve(app)  # first: the messages' "View in browser" links point at this server
    app.settings.x.enabled = app.settings.facebook.enabled = False
    ingest(app)
    for address in READERS:
        add_subscriber(app, address, address.split(".")[0].title())
    digest = send_edition(app, app.settings.digest).digest
    assert digest is not None and digest.slug == "weekly-2026-W48"
    for viewport, width in ((None, "375px"), (DESKTOP, "1280px")):
        page = new_page(browser, **({"viewport": viewport} if viewport else {}))
        refused = watch(page)
        try:
            page.goto(server.link("/archive/"))
            expect(page.get_by_role("heading", name="Archive")).to_be_visible()
            screenshot(page, f"archive-list-{width}")
            page.get_by_role("link", name=digest.subject).click()
            expect(page).to_have_url(server.link(f"/archive/{digest.slug}"))
            expect(page.get_by_role("heading", name=digest.subject, level=1)).to_be_visible()
            expect(page.get_by_text("Hello reader,")).to_be_visible()
            expect(page.get_by_role("link", name="Read the story")).to_be_visible()
            expect(page.get_by_label("Email address")).to_be_visible()
            assert horizontal_overflow(page) == 0 and unlabelled_inputs(page) == []
            content = page.content()
            assert all(address not in content for address in READERS) and "%%DISTRO" not in content
            screenshot(page, f"archive-edition-{width}")
            check_links(page, server.url)
            assert refused == [], refused  # inline styles pass the policy; no script is on the page
        finally:
            page.context.close()

    page = new_page(browser)
    try:
        page.goto(server.link(f"/archive/{digest.slug}"))
        page.get_by_label("Email address").fill("new.reader@example.org")
        page.get_by_role("button", name="Subscribe").click()
        expect(page.get_by_text("Check your inbox")).to_be_visible()  # the form posts to /subscribe
    finally:
        page.context.close()


def check_links(page: Page, origin: str) -> None:
    """Every link on this server answers, the feed named in <head> parses, the others are the stories'."""
    feed = page.locator('link[rel="alternate"][type="application/atom+xml"]').get_attribute("href")
    assert feed is not None
    answer = page.request.get(feed)
    assert answer.ok and not feedparser.parse(answer.body()).bozo
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    assert hrefs
    for href in hrefs:
        if href.startswith(origin):
            assert page.request.get(href).ok, href
        else:
            assert href.startswith("https://meridian-review.example") and "utm_campaign=" in href, href
