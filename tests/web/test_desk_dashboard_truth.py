"""The dashboard tells the truth (issue 21, item 5): the next digest in words in the newsletter's timezone
(never APScheduler's ``cron[...]``), the last *sent* edition (not one composed and waiting), recipients
that match the rows beneath them, and every time in the desk's one timezone. The clock is pinned."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from fastapi.testclient import TestClient

from distro.app import App
from distro.scheduler import build_scheduler, ensure_jobs
from distro.services.delivery import dispatch
from distro.services.desk_overview import schedule_words
from distro.services.digest_compose import open_edition
from distro.services.digest_send import queue_edition
from distro.services.ingest import ingest
from distro.services.preferences import set_status
from distro.services.subscribers import add_subscriber
from distro.store import recipients
from distro.web.app import create_web_app
from distro.web.desk_time import in_words
from tests.web.desk import signed_in
from tests.web.test_desk_dashboard import card, stats

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def pinned(clock: time_machine.Traveller) -> None:
    """Each test at the clock fixture's instant (Friday 2026-11-27 12:00 UTC unless marked)."""


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app)) as test_client:
        yield test_client


def dashboard(app: App, client: TestClient) -> str:
    signed_in(app, client, "/desk")
    return client.get("/desk").text


@sqlite_only
def test_the_next_digest_is_in_words_in_its_timezone(app: App, client: TestClient) -> None:
    next_run = card(dashboard(app, client), "next-digest")
    assert "Monday 30 November, 07:00 Europe/London" in next_run
    assert "every Monday at 07:00 (Europe/London)" in next_run
    assert "cron[" not in next_run and "trigger" not in next_run


@pytest.mark.clock(datetime(2027, 3, 26, 12, 0, tzinfo=UTC))  # the Friday before the clocks go forward
@sqlite_only
def test_the_stored_job_is_in_words_too(app: App, client: TestClient) -> None:
    scheduler = build_scheduler(app)
    scheduler.start(paused=True)
    try:
        ensure_jobs(scheduler, app)
    finally:
        scheduler.shutdown()
    next_run = card(dashboard(app, client), "next-digest")
    assert "Monday 29 March, 07:00 Europe/London" in next_run  # 06:00 UTC, British Summer Time
    assert "from the scheduler's stored job" in next_run and "cron[" not in next_run


@pytest.mark.clock(datetime(2026, 12, 29, 12, 0, tzinfo=UTC))
@sqlite_only
def test_a_date_next_year_says_its_year(app: App, client: TestClient) -> None:
    assert "Monday 4 January 2027, 07:00 Europe/London" in card(dashboard(app, client), "next-digest")


def test_words_for_other_timezones_and_schedules() -> None:
    friday = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    at = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
    assert in_words(at, "America/New_York", friday) == "Friday 27 November, 07:30 America/New_York"
    assert schedule_words("mon-fri", "07:30") == "Monday to Friday at 07:30"
    assert schedule_words("mon,thu", "06:00") == "every Monday and Thursday at 06:00"
    assert schedule_words("*", "06:00") == "every day at 06:00"
    assert schedule_words("*/2", "06:00") == "on days */2 at 06:00"


@sqlite_only
def test_the_last_digest_is_the_last_sent_one(
    app: App, client: TestClient, clock: time_machine.Traveller
) -> None:
    ingest(app)
    add_subscriber(app, "ana@example.org")
    sent = open_edition(app, app.settings.digest).digest
    assert sent is not None
    queue_edition(app, app.settings.digest, sent)
    dispatch(app, ["email"])
    clock.move_to(datetime(2026, 12, 4, 12, 0, tzinfo=UTC))
    app.settings.digest.empty_week = "note"  # no news since: next week's edition is a short note
    waiting = open_edition(app, app.settings.digest).digest  # next week's, composed, not sent
    assert waiting is not None and waiting.slug != sent.slug
    last = card(dashboard(app, client), "last-digest")
    assert sent.slug in last and stats(last)["sent"] == 1
    assert re.search(rf"Composed, not sent yet:.*{waiting.slug}", last, re.S)
    assert last.index(sent.slug) < last.index(waiting.slug)


@sqlite_only
def test_recipients_match_what_was_queued(app: App, client: TestClient) -> None:
    """Seven queued, one unsubscribes before the worker reaches it: six go out. The dashboard said
    "for 7 recipients" above six sent (the stored count from queueing time); now it says six, and why."""
    ingest(app)
    for n in range(7):
        assert add_subscriber(app, f"reader{n}@example.org")
    digest = open_edition(app, app.settings.digest).digest
    assert digest is not None and queue_edition(app, app.settings.digest, digest).queued == 7
    first = recipients.reader(app.engine, "reader0@example.org")
    assert first is not None and first.id is not None
    set_status(app, first.id, active=False, edition=digest.slug)
    assert dispatch(app, ["email"])["email"].sent == 6
    last = card(dashboard(app, client), "last-digest")
    assert "for 6 recipients" in last and "for 7 recipients" not in last
    assert "7 queued; 1 dropped before sending" in last
    counts = stats(last)
    assert (counts["sent"], counts["suppressed"], counts["pending"]) == (6, 1, 0)


@sqlite_only
def test_every_time_on_the_dashboard_is_in_the_desk_s_timezone(app: App, client: TestClient) -> None:
    app.settings.digest.timezone = "Asia/Tokyo"
    ingest(app)
    html = dashboard(app, client)
    shown = re.findall(r'<time datetime="[^"]+">([^<]+)</time>', card(html, "sources"))
    assert shown == ["Fri 27 Nov 2026 21:00 JST"]  # 12:00 UTC
