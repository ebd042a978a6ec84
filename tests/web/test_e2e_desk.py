"""The editor's digest flow in headless Chromium against a live server: sign in, preview, send a test copy.

The test copy goes through the real email channel to the test SMTP server. Screenshots of the desk at a
desktop width are saved in artifacts/e2e/. Nothing here depends on the database: SQLite only. The server's
clock is pinned (the ``clock`` fixture), so the edition the page shows is known; Chromium keeps its own.
"""

from __future__ import annotations

import email
from collections.abc import Iterator
from email.policy import default

import pytest
import time_machine
from playwright.sync_api import Browser, expect
from sqlmodel import select

from distro.app import App
from distro.db import session_scope
from distro.models import Article
from distro.services.digest_calendar import upcoming_at
from distro.services.digest_compose import open_edition
from distro.services.editors import add_editor
from distro.services.ingest import ingest
from distro.services.subscribers import add_subscriber
from tests.fakes.smtp_server import FakeSmtpServer, running_smtp_server
from tests.web.browser import Serve, new_page, screenshot

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
EDITOR, PASSWORD = "desk@meridian-review.example", "a long desk passphrase"
TESTER = "proofreader@newsroom.example.org"
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def smtp(app: App) -> Iterator[FakeSmtpServer]:
    app.settings.x.enabled = app.settings.facebook.enabled = False
    with running_smtp_server() as server:
        app.settings.email.mode = "smtp"
        app.settings.email.unsafe_test_relay = True  # aiosmtpd on loopback: no DKIM, http links
        app.settings.smtp.host, app.settings.smtp.port = server.host, server.port
        app.settings.smtp.security = "none"
        yield server


def test_an_editor_previews_the_digest_and_sends_a_test_copy(
    app: App, smtp: FakeSmtpServer, serve: Serve, browser: Browser, clock: time_machine.Traveller
) -> None:
    ingest(app)
    add_subscriber(app, "reader@example.org", "Reader")
    add_editor(app, EDITOR, PASSWORD)
    server = serve(app)
    page = new_page(browser, viewport=DESKTOP)
    try:
        page.goto(server.link("/desk/digest"))
        expect(page).to_have_url(server.link("/desk/login?next=%2Fdesk%2Fdigest"))
        page.get_by_label("Email").fill(EDITOR)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Digest", exact=True)).to_be_visible()

        digest = open_edition(
            app, app.settings.digest, at=upcoming_at(app, app.settings.digest)
        ).digest  # the edition the page shows
        assert digest is not None and digest.slug == "weekly-2026-W49"  # Monday's, seen on Friday
        desktop, phone = (
            page.frame_locator('iframe[title="Desktop preview"]'),
            page.frame_locator('iframe[title="Phone preview"]'),
        )
        for frame in (desktop, phone):  # the lead story in both frames
            expect(frame.locator("body")).to_contain_text(lead_title(app, digest.article_ids[0]))
        handle = page.locator('iframe[title="Phone preview"]').element_handle()
        phone_frame = handle.content_frame() if handle is not None else None
        assert phone_frame is not None
        scroll, inner = phone_frame.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert 360 <= inner <= 375, inner  # the frame's 375 px, less a scroll bar
        assert scroll <= inner, f"the phone preview scrolls sideways: {scroll} px in {inner} px"
        screenshot(page, "desk-digest-1280px")

        page.get_by_label("Send a test copy to").fill(TESTER)
        expect(page.get_by_role("button", name="Send test")).to_be_enabled()
        # Enter submits the form; a mouse click can miss while the preview frames still lay out
        page.get_by_label("Send a test copy to").press("Enter")
        sent = f"Sent a test copy of {digest.slug} to {TESTER}"
        expect(page.get_by_role("status")).to_contain_text(sent, timeout=15_000)  # after the SMTP exchange
        screenshot(page, "desk-digest-test-sent-1280px")
    finally:
        page.context.close()
    received = [email.message_from_bytes(m.data, policy=default) for m in smtp.messages]
    assert [(str(m["To"]), str(m["Subject"])) for m in received] == [(TESTER, f"[TEST] {digest.subject}")]


def lead_title(app: App, article_id: int) -> str:
    with session_scope(app.engine) as session:
        return session.exec(select(Article.title).where(Article.id == article_id)).one()
