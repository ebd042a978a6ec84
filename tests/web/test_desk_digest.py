"""The desk's digest page through TestClient: sign-in, preview bytes, edit, test copy, send, schedule.

Everything goes through the real services, outbox and file sink; the database does not matter here (the
digest services have their own tests on both backends): SQLite only. Every test lives on Friday
2026-11-27 12:00 UTC (the ``clock`` fixture, which ``week`` depends on): the articles arrive then and the
desk's upcoming edition is Monday's, whatever the wall clock says.
"""

from __future__ import annotations

import email
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from html import unescape
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import select

from distro import scheduler
from distro.app import App
from distro.db import session_scope
from distro.models import Article, Delivery, Digest, DigestEdit, DigestStatus, utcnow
from distro.services.digest_calendar import digest_slug, upcoming_at
from distro.services.digest_compose import open_edition
from distro.services.digest_preview import preview
from distro.services.digest_send import queue_edition
from distro.services.ingest import ingest
from distro.services.subscribers import add_subscriber
from distro.web.app import create_web_app
from tests.conftest import FRIDAY
from tests.web.desk import EDITOR, csrf_of, signed_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
READERS = ["amira@example.org", "ben@example.org", "chen@example.org"]
LONDON = ZoneInfo("Europe/London")
FORMS = ["edit", "test", "send", "schedule", "unschedule", "archive"]


@pytest.fixture
def week(app: App, clock: time_machine.Traveller) -> App:
    """The example week's articles and readers, ingested at the pinned instant (FRIDAY)."""
    app.settings.x.enabled = app.settings.facebook.enabled = False
    ingest(app)
    for address in READERS:
        add_subscriber(app, address, address.split("@")[0].title())
    add_subscriber(app, "sec@example.org", "Sec", sections=["Security"])
    return app


@pytest.fixture
def client(week: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(week)) as test_client:
        yield test_client


@pytest.fixture
def csrf(week: App, client: TestClient) -> str:
    return signed_in(week, client, "/desk/digest")


def edition_of(html: str) -> str:
    found = re.search(r'name="edition" value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def frames(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<iframe [^>]*width="(\d+)"[^>]*srcdoc="([^"]*)"', html)


def post(client: TestClient, action: str, csrf: str, **fields: object) -> object:
    page = client.get("/desk/digest")
    data = {"csrf_token": csrf, "newsletter": "", "edition": edition_of(page.text), **fields}
    return client.post(f"/desk/digest/{action}", data=data, follow_redirects=True)


def stored_digest(app: App) -> Digest:
    with session_scope(app.engine) as session:
        digest = session.exec(select(Digest).order_by(Digest.id)).first()  # type: ignore[arg-type]
        assert digest is not None
        session.expunge(digest)
    return digest


def titles(app: App) -> dict[int, str]:
    with session_scope(app.engine) as session:
        return {a.id or 0: a.title for a in session.exec(select(Article))}


@pytest.mark.parametrize(
    "path", ["/desk/digest", "/desk/digest/preview.html", "/desk/digest/preview.txt"]
)  # fmt: skip
def test_every_page_needs_a_signed_in_editor(week: App, client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/desk/login?next=")
    for action in FORMS:
        assert client.post(f"/desk/digest/{action}", data={}).status_code == 401


@pytest.mark.parametrize("subscriber", [None, "sec@example.org"])
def test_the_page_shows_the_edition_and_both_frames_with_the_bytes_digest_preview_writes(
    week: App, client: TestClient, csrf: str, subscriber: str | None
) -> None:
    params = {"subscriber": subscriber} if subscriber else {}
    page = client.get("/desk/digest", params=params)
    raw_html = client.get("/desk/digest/preview.html", params=params)
    raw_text = client.get("/desk/digest/preview.txt", params=params)
    digest = open_edition(
        week, week.settings.digest, at=upcoming_at(week, week.settings.digest)
    ).digest  # the edition the page shows
    assert digest is not None
    html_path, text_path, _ = preview(
        week, week.settings.digest, digest, email=subscriber
    )  # what `distro digest preview` writes
    assert digest.slug in page.text and unescape(digest.subject) in unescape(page.text)
    assert "composed" in page.text and "4 readers" in page.text
    assert raw_html.content == html_path.read_bytes() and raw_text.content == text_path.read_bytes()
    assert raw_html.headers["content-type"] == "text/html; charset=utf-8"
    assert raw_html.headers["content-security-policy"] == "sandbox"
    assert raw_text.headers["content-type"] == "text/plain; charset=utf-8"
    shown = frames(page.text)
    assert [width for width, _ in shown] == ["600", "375"]
    assert all(unescape(source).encode() == html_path.read_bytes() for _, source in shown)
    assert page.text.count('sandbox="allow-popups allow-popups-to-escape-sandbox"') == 2


def test_an_unknown_subscriber_or_newsletter_is_said_on_the_page(client: TestClient, csrf: str) -> None:
    page = client.get("/desk/digest", params={"subscriber": "nobody@example.org"})
    assert page.status_code == 200 and "nobody@example.org" in page.text and len(frames(page.text)) == 2
    assert (
        client.get("/desk/digest/preview.html", params={"subscriber": "nobody@example.org"}).status_code
        == 404
    )
    unknown = client.get("/desk/digest", params={"newsletter": "nope"})
    assert unknown.status_code == 404 and "unknown newsletter" in unknown.text


def test_edit_writes_the_intro_pins_the_lead_and_excludes_a_story(
    week: App, client: TestClient, csrf: str
) -> None:
    before = stored_digest(week)
    names = titles(week)
    pinned, dropped = before.article_ids[-1], before.article_ids[0]
    page = post(
        client,
        "edit",
        csrf,
        intro="A **quiet** week at the desk.",
        lead=str(pinned),
        exclude=[str(dropped)],
        max_stories="6",
    )
    assert page.status_code == 200 and "Saved the edit" in page.text  # type: ignore[attr-defined]
    after = stored_digest(week)
    assert after.id == before.id and after.article_ids[0] == pinned and dropped not in after.article_ids
    assert len(after.article_ids) == 6
    html = client.get("/desk/digest/preview.html").text
    assert "<strong>quiet</strong>" in html and names[dropped] not in html
    assert html.index(names[pinned]) < min(html.index(names[i]) for i in after.article_ids[1:])
    # back: no lead pinned, the story included again; the intro is left as it is
    post(client, "edit", csrf, intro="A **quiet** week at the desk.", lead="", max_stories="6")
    again = stored_digest(week)
    assert dropped in again.article_ids
    with session_scope(week.engine) as session:
        edit = session.exec(select(DigestEdit)).one()
    assert edit.excluded_article_ids == [] and edit.pinned_article_id is None
    assert edit.intro == "A **quiet** week at the desk."


def test_a_refused_edit_is_said_on_the_page_and_keeps_the_draft(
    week: App, client: TestClient, csrf: str
) -> None:
    lead = stored_digest(week).article_ids[0]
    page = post(client, "edit", csrf, intro="Draft kept", lead=str(lead), exclude=[str(lead)])
    assert page.status_code == 422  # type: ignore[attr-defined]
    assert "cannot also be excluded" in page.text and "Draft kept" in page.text  # type: ignore[attr-defined]


def test_a_test_copy_reaches_the_file_sink_marked_and_logged_apart(
    week: App, client: TestClient, csrf: str
) -> None:
    page = post(client, "test", csrf, to="")  # empty: the signed-in editor's address
    assert "Sent a test copy" in page.text and EDITOR in page.text  # type: ignore[attr-defined]
    with session_scope(week.engine) as session:
        row = session.exec(select(Delivery)).one()
    assert row.key.startswith("test:") and row.subscriber_id is None and row.status == "sent"
    message = email.message_from_bytes(
        (week.settings.email_dir / (row.provider_id or "")).read_bytes(), policy=policy.default
    )
    assert message["Subject"].startswith("[TEST] ") and message["To"] == EDITOR
    bad = post(client, "test", csrf, to="not an address")
    assert "No test copy sent" in bad.text  # type: ignore[attr-defined]


def test_send_now_queues_one_row_per_reader_and_the_page_moves_to_the_next_edition(
    week: App, client: TestClient, csrf: str
) -> None:
    sent = open_edition(
        week, week.settings.digest, at=upcoming_at(week, week.settings.digest)
    ).digest  # the edition the page shows
    assert sent is not None
    page = post(client, "send", csrf)
    assert f"{sent.slug} is queued for 4 readers" in page.text  # type: ignore[attr-defined]
    with session_scope(week.engine) as session:
        rows = session.exec(select(Delivery.recipient).where(Delivery.digest_id == sent.id)).all()
    assert sorted(rows) == sorted([*READERS, "sec@example.org"])
    nxt = edition_of(page.text)  # type: ignore[attr-defined]
    assert nxt != sent.slug and nxt == digest_slug(
        week.settings.digest, upcoming_at(week, week.settings.digest)
    )
    # a second click on the old page's form does not send the next edition
    stale = client.post(
        "/desk/digest/send", data={"csrf_token": csrf, "newsletter": "", "edition": sent.slug}
    )
    assert "no longer the upcoming edition" in stale.text
    with session_scope(week.engine) as session:
        assert session.exec(select(sa.func.count()).select_from(Delivery)).one() == 4


def test_upcoming_at_moves_to_the_next_edition_once_this_one_is_queued(week: App) -> None:
    now = FRIDAY  # the pinned clock: the week's articles arrived at this instant
    monday = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 07:00 London: what the scheduler sends next
    assert upcoming_at(week, week.settings.digest) == upcoming_at(week, week.settings.digest, now) == monday
    digest = open_edition(
        week, week.settings.digest, now
    ).digest  # this week's, composed by hand and not sent yet
    assert digest is not None and digest.slug == "weekly-2026-W48" and len(digest.article_ids) == 12
    assert upcoming_at(week, week.settings.digest, now) == now  # ...is the one to finish first
    queue_edition(week, week.settings.digest, digest)
    nxt = upcoming_at(week, week.settings.digest, now)
    assert nxt == monday
    assert digest_slug(week.settings.digest, nxt) == "weekly-2026-W49"


def test_schedule_is_stored_sent_once_due_and_the_cron_job_stands_aside(
    week: App, client: TestClient, csrf: str, caplog: pytest.LogCaptureFixture
) -> None:
    digest = open_edition(
        week, week.settings.digest, at=upcoming_at(week, week.settings.digest)
    ).digest  # the edition the page shows
    assert digest is not None
    past = (utcnow() - timedelta(hours=1)).astimezone(LONDON).strftime("%Y-%m-%dT%H:%M")  # the form is London
    refused = post(client, "schedule", csrf, send_at=past)
    assert "Not scheduled" in refused.text and "in the past" in refused.text  # type: ignore[attr-defined]
    london = utcnow().astimezone(LONDON) + timedelta(hours=2)
    page = post(client, "schedule", csrf, send_at=london.strftime("%Y-%m-%dT%H:%M"))
    assert "scheduled by hand" in page.text  # type: ignore[attr-defined]
    with session_scope(week.engine) as session:
        send_at = session.exec(select(DigestEdit.send_at)).one()
    assert send_at is not None and send_at == london.replace(second=0, microsecond=0)

    scheduler.build_scheduler(week, persistent=False)  # the jobs read this App
    with caplog.at_level(logging.INFO, logger="distro.scheduler"):
        scheduler.digest_job()
    assert "skipped: the editor scheduled" in caplog.text
    scheduler.scheduled_job()  # not due yet
    assert stored_digest(week).status == DigestStatus.COMPOSED
    with time_machine.travel(send_at + timedelta(minutes=1)):
        scheduler.scheduled_job()
        scheduler.scheduled_job()  # once
        assert stored_digest(week).status == DigestStatus.QUEUED
    with session_scope(week.engine) as session:
        assert session.exec(select(sa.func.count()).select_from(Delivery)).one() == 4


def test_unschedule_clears_the_time(week: App, client: TestClient, csrf: str) -> None:
    later = (utcnow() + timedelta(days=1)).astimezone(LONDON)
    post(client, "schedule", csrf, send_at=later.strftime("%Y-%m-%dT%H:%M"))
    page = post(client, "unschedule", csrf)
    assert "usual time again" in page.text  # type: ignore[attr-defined]
    with session_scope(week.engine) as session:
        assert session.exec(select(DigestEdit.send_at)).one() is None


@pytest.mark.parametrize("action", FORMS)
def test_every_form_needs_the_csrf_token(week: App, client: TestClient, csrf: str, action: str) -> None:
    page = client.get("/desk/digest")
    assert csrf_of(page.text) == csrf
    for token in ("", "wrong"):
        data = {"csrf_token": token, "edition": edition_of(page.text), "intro": "x", "to": EDITOR}
        assert client.post(f"/desk/digest/{action}", data=data).status_code == 403
    with session_scope(week.engine) as session:
        assert session.exec(select(sa.func.count()).select_from(Delivery)).one() == 0
        assert session.exec(select(sa.func.count()).select_from(DigestEdit)).one() == 0
