"""A reader's whole journey in headless Chromium against a live server, with every email really sent.

Sign up, confirm from the emailed link, get the welcome, change preferences, get a digest, unsubscribe from
it, and get nothing the week after, all at a phone's 375 px (no horizontal overflow, every field labelled;
screenshots in artifacts/e2e/). Then the RFC 8058 one-click POST a mail client sends. Emails go through the
real outbox and dispatch to the test SMTP server. Nothing here depends on the database: SQLite only. The
server's clock is pinned (the ``clock`` fixture, which ``smtp`` depends on); Chromium keeps its own.
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default

import httpx
import pytest
import sqlalchemy as sa
import time_machine
from playwright.sync_api import Page, expect
from sqlmodel import select

from distro.app import App
from distro.db import session_scope
from distro.models import Delivery, DeliveryStatus, Digest, Subscriber, SubscriberStatus, utcnow
from distro.services.delivery import dispatch
from distro.services.digest_compose import open_edition
from distro.services.digest_send import queue_edition
from distro.services.ingest import ingest
from distro.services.subscribers import add_subscriber
from tests.fakes.smtp_server import FakeSmtpServer, running_smtp_server
from tests.web.browser import LiveServer, Serve, horizontal_overflow, screenshot, unlabelled_inputs

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

READER = "rosamaria.fernandezdelacroix@newsroom.example.org"  # long: it must wrap at 375 px
OTHER = "otto@example.org"


@pytest.fixture
def smtp(app: App, clock: time_machine.Traveller) -> Iterator[FakeSmtpServer]:
    """The app's email goes to a real SMTP server on loopback; x and facebook stay off."""
    app.settings.x.enabled = app.settings.facebook.enabled = False
    with running_smtp_server() as server:
        app.settings.email.mode = "smtp"
        app.settings.email.unsafe_test_relay = True  # aiosmtpd on loopback: no DKIM, http links
        app.settings.smtp.host, app.settings.smtp.port = server.host, server.port
        app.settings.smtp.security = "none"
        yield server


class Inbox:
    """What the SMTP server received, read message by message as a mail client would."""

    def __init__(self, app: App, server: FakeSmtpServer) -> None:
        self.app, self.server, self.seen = app, server, 0

    def deliver(self) -> list[EmailMessage]:
        """Dispatch the outbox for real; return the messages that arrived since the last call."""
        dispatch(self.app, ["email"])
        fresh = self.server.messages[self.seen :]
        self.seen += len(fresh)
        return [email.message_from_bytes(m.data, policy=default) for m in fresh]

    def deliver_one(self, to: str, subject: str) -> EmailMessage:
        arrived = [m for m in self.deliver() if to_of(m) == to and subject in m["Subject"]]
        assert len(arrived) == 1, f"expected one {subject!r} to {to}, got {[m['Subject'] for m in arrived]}"
        return arrived[0]


def to_of(message: EmailMessage) -> str:
    return str(message["To"].addresses[0].addr_spec)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(text: str, server: LiveServer, kind: str) -> str:
    found = re.findall(rf"{re.escape(server.url)}/{kind}/\S+", text)
    assert len(found) == 1, f"expected one /{kind}/ link to {server.url} in:\n{text}"
    return str(found[0])


def row_of(app: App, address: str) -> Subscriber | None:
    with session_scope(app.engine) as session:
        row = session.exec(select(Subscriber).where(Subscriber.email == address)).first()
        if row is not None:
            session.expunge(row)
        return row


def check_phone_layout(page: Page) -> None:
    assert horizontal_overflow(page) == 0, f"{page.url} is wider than {page.viewport_size}"
    assert unlabelled_inputs(page) == [], f"{page.url} has form fields without a label"


def test_a_reader_signs_up_chooses_sections_unsubscribes_and_gets_nothing_more(
    app: App, smtp: FakeSmtpServer, serve: Serve, page: Page
) -> None:
    ingest(app)
    add_subscriber(app, OTHER, "Otto")
    server, inbox = serve(app), Inbox(app, smtp)

    page.goto(server.link("/subscribe"))
    page.get_by_label("Email address").fill(READER)
    page.get_by_label("Name (optional)").fill("Rosa")
    page.get_by_label("Security").check()
    check_phone_layout(page)
    screenshot(page, "subscribe-375px")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.locator("main")).to_contain_text("Check your inbox")
    check_phone_layout(page)
    assert row_of(app, READER) is None  # nothing before the click

    confirmation = inbox.deliver_one(READER, "Confirm your subscription")
    page.goto(link_in(text_of(confirmation), server, "confirm"))
    expect(page.locator("main")).to_contain_text(f"Thank you: {READER} is subscribed.")
    check_phone_layout(page)
    rosa = row_of(app, READER)
    assert rosa is not None and rosa.status == SubscriberStatus.ACTIVE and rosa.name == "Rosa"
    assert rosa.sections == ["Security"]

    welcome = inbox.deliver_one(READER, "Welcome to")
    page.goto(link_in(text_of(welcome), server, "preferences"))
    expect(page.get_by_label("Security")).to_be_checked()
    check_phone_layout(page)
    screenshot(page, "preferences-375px")
    page.get_by_label("Security").uncheck()
    page.get_by_label("Economy").check()
    page.get_by_label("Commentary").check()
    page.get_by_label("Pause the digest").fill("2")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.locator("main")).to_contain_text("paused until")
    check_phone_layout(page)
    rosa = row_of(app, READER)
    assert rosa is not None and rosa.sections == ["Economy", "Commentary"] and rosa.paused_until is not None
    assert rosa.paused_until - utcnow() == timedelta(weeks=2)
    page.get_by_label("Pause the digest").fill("0")  # and back: resume now
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    rosa = row_of(app, READER)
    assert rosa is not None and rosa.paused_until is None and rosa.sections == ["Economy", "Commentary"]

    first = open_edition(app, app.settings.digest).digest
    assert first is not None and queue_edition(app, app.settings.digest, first).queued == 2
    arrived = {to_of(m): text_of(m) for m in inbox.deliver()}
    assert sorted(arrived) == [OTHER, READER]
    assert "SECURITY" in arrived[OTHER] and "SECURITY" not in arrived[READER]  # her sections only
    assert "ECONOMY" in arrived[READER]

    page.goto(link_in(arrived[READER], server, "unsubscribe"))
    expect(page.locator("main")).to_contain_text("Stop sending")
    assert row_of(app, READER).status == SubscriberStatus.ACTIVE  # type: ignore[union-attr]  # GET alone: no
    check_phone_layout(page)
    screenshot(page, "unsubscribe-375px")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("status")).to_contain_text(f"{READER} is unsubscribed")
    expect(page.get_by_role("button", name="Subscribe again")).to_be_visible()
    check_phone_layout(page)
    assert row_of(app, READER).status == SubscriberStatus.UNSUBSCRIBED  # type: ignore[union-attr]

    app.settings.digest.empty_week = "note"  # no new articles next week: the short note still goes out
    second = open_edition(app, app.settings.digest, utcnow() + timedelta(days=7)).digest
    assert second is not None and second.id != first.id
    assert queue_edition(app, app.settings.digest, second).queued == 1
    assert [to_of(m) for m in inbox.deliver()] == [OTHER]


def one_click(url: str, encoding: str) -> httpx.Response:
    """POST as a mail client does (RFC 8058 3.2): the header's key/value as the body, no cookies, no auth."""
    with httpx.Client(follow_redirects=False) as client:
        if encoding == "multipart":
            return client.post(url, files={"List-Unsubscribe": (None, b"One-Click")})
        return client.post(url, data={"List-Unsubscribe": "One-Click"})


def test_one_click_from_a_received_digest_stops_what_is_already_queued(
    app: App, smtp: FakeSmtpServer, serve: Serve
) -> None:
    """Both encodings RFC 8058 allows; the week's rows still pending when the click comes are not sent."""
    ingest(app)
    readers = {"urlencoded": "una@example.org", "multipart": "mo@example.org"}
    for address in [*readers.values(), OTHER]:
        add_subscriber(app, address)
    server, inbox = serve(app), Inbox(app, smtp)
    first = open_edition(app, app.settings.digest).digest
    assert first is not None and queue_edition(app, app.settings.digest, first).queued == 3
    received = {to_of(m): m for m in inbox.deliver()}
    assert sorted(received) == sorted([*readers.values(), OTHER])

    app.settings.digest.empty_week = "note"
    second = open_edition(app, app.settings.digest, utcnow() + timedelta(days=7)).digest
    assert (
        second is not None and queue_edition(app, app.settings.digest, second).queued == 3
    )  # queued, not yet sent
    for encoding, address in readers.items():
        headers = received[address]
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = re.findall(r"<(https?://[^>]+)>", headers["List-Unsubscribe"])[0]
        assert url.startswith(f"{server.url}/unsubscribe/")
        answer = one_click(url, encoding)
        assert (answer.status_code, answer.text) == (200, "unsubscribed\n"), encoding
        assert row_of(app, address).status == SubscriberStatus.UNSUBSCRIBED  # type: ignore[union-attr]

    assert [to_of(m) for m in inbox.deliver()] == [OTHER]
    with session_scope(app.engine) as session:
        statuses = dict(
            session.exec(
                select(Delivery.recipient, Delivery.status).where(Delivery.digest_id == second.id)
            ).all()
        )
        digests = session.exec(select(sa.func.count()).select_from(Digest)).one()
    assert digests == 2
    assert statuses == {
        readers["urlencoded"]: DeliveryStatus.SUPPRESSED,
        readers["multipart"]: DeliveryStatus.SUPPRESSED,
        OTHER: DeliveryStatus.SENT,
    }
