"""axe-core (every WCAG A/AA and best-practice rule) finds nothing on the emails and the public pages.

The emails are checked as a reader's client shows them (the HTML part with the slots filled, loaded with
no network); the pages through a live server in headless Chromium: subscribe, the "check your inbox"
message, preferences, unsubscribe, change address, and the archive's list and edition.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine
from playwright.sync_api import Browser, Page
from sqlmodel import select

from distro.app import App
from distro.db import session_scope
from distro.models import Signup
from distro.services.address_change import approve_url, request_change
from distro.services.digest_send import send_edition
from distro.services.ingest import ingest
from distro.services.personal import preferences_url, unsubscribe_url
from distro.services.subscribers import add_subscriber
from distro.store.subscribers import by_email
from tests.compose.emails import KINDS, every_email, html_part
from tests.web.axe import axe_html, axe_violations
from tests.web.browser import Serve, new_page

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
READER = "amira.quill@example.org"


@pytest.fixture
def csp_free(browser: Browser) -> Iterator[Page]:
    """A page whose Content Security Policy lets axe's script in (the pages allow no script)."""
    opened = new_page(browser, bypass_csp=True)
    yield opened
    opened.context.close()


def test_every_email_has_no_axe_violation(app: App, csp_free: Page, clock: time_machine.Traveller) -> None:
    found = {kind: axe_html(csp_free, html_part(raw)) for kind, raw in every_email(app).items()}
    assert found == {kind: [] for kind in KINDS}, found


def test_every_public_page_has_no_axe_violation(
    app: App, serve: Serve, csp_free: Page, clock: time_machine.Traveller
) -> None:
    server = serve(app)
    app.settings.x.enabled = app.settings.facebook.enabled = False
    ingest(app)
    add_subscriber(app, READER, "Amira")
    digest = send_edition(app, app.settings.digest).digest
    assert digest is not None
    with session_scope(app.engine) as session:
        subscriber_id = by_email(session, READER).id or 0  # type: ignore[union-attr]
    request_change(app, subscriber_id, "amira.new@example.org")
    with session_scope(app.engine) as session:
        signup = session.exec(select(Signup).where(Signup.subscriber_id == subscriber_id)).one()
        change_link = approve_url(app, signup)
    pages = {
        "subscribe": server.link("/subscribe"),
        "preferences": preferences_url(app, subscriber_id),
        "unsubscribe": unsubscribe_url(app, subscriber_id),
        "change address": change_link,
        "message (bad link)": server.link("/unsubscribe/not-a-token"),
        "archive list": server.link("/archive/"),
        "archive edition": server.link(f"/archive/{digest.slug}"),
    }
    found = {}
    for name, url in pages.items():
        csp_free.goto(url)
        found[name] = axe_violations(csp_free)
    assert found == {name: [] for name in pages}, found
