"""The desk's dashboard (/desk) through the real pipeline: ingest, compose, queue, dispatch over SMTP to a
real server on loopback that refuses some recipients, and the social planner. The numbers shown are read
back from the page. Every test runs at a pinned instant (the ``clock`` fixture: Friday 2026-11-27 12:00 UTC
unless marked), so the next runs shown are known dates, not the wall clock's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient
from markupsafe import escape

from distro.app import App
from distro.models import Article, Delivery
from distro.scheduler import build_scheduler, ensure_jobs
from distro.services.delivery import dispatch
from distro.services.digest_compose import open_edition
from distro.services.digest_send import queue_edition
from distro.services.ingest import ingest
from distro.services.plan import hold
from distro.services.social import plan_social
from distro.services.subscribers import add_subscriber
from distro.web.app import create_web_app
from tests.fakes.smtp_server import running_smtp_server
from tests.web.desk import signed_in

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
REPLIES = {
    "gone@example.org": "550 5.1.1 No such user",  # a hard bounce
    "later@example.org": "451 4.3.0 Try again later",  # stays pending
}
DATA_REPLIES = {"spam@example.org": "554 5.7.1 Message refused as spam"}  # failed, not a bounce


@pytest.fixture(autouse=True)
def pinned(clock: time_machine.Traveller) -> None:
    """Each test, its fixtures included, at the clock fixture's instant."""


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app)) as test_client:
        yield test_client


def stats(html: str) -> dict[str, int]:
    """The last digest's counters: ``<li><strong>N</strong>label</li>``."""
    return {
        re.sub(r"<[^>]+>", "", label): int(number)
        for number, label in re.findall(r"<li><strong[^>]*>(\d+)</strong>(.*?)</li>", html)
    }


def shown_times(html: str) -> list[datetime]:
    """The instants of the ``<time datetime=...>`` elements (each with its offset: UTC or the trigger's)."""
    return [datetime.fromisoformat(value) for value in re.findall(r'<time datetime="([^"]+)">', html)]


def card(html: str, heading_id: str) -> str:
    found = re.search(rf'<section class="card" aria-labelledby="{heading_id}">(.*?)</section>', html, re.S)
    assert found, heading_id
    return found.group(1)


@sqlite_only
def test_the_dashboard_needs_sign_in(client: TestClient) -> None:
    response = client.get("/desk", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/desk/login?next=%2Fdesk"


def test_the_dashboard_shows_the_pipeline_s_real_numbers(app: App, client: TestClient) -> None:
    ingest(app, backfill=4)  # twelve articles, eight of them back catalogue (never posted)
    for address in ["ana@example.org", "ben@example.org", *REPLIES, *DATA_REPLIES]:
        assert add_subscriber(app, address)
    digest = open_edition(app, app.settings.digest).digest
    assert digest is not None and queue_edition(app, app.settings.digest, digest).queued == 5
    assert plan_social(app) == 8  # four articles on x and facebook
    with app.engine.connect() as c:
        x_posts = c.execute(sa.select(Delivery.id).where(Delivery.channel == "x").order_by(Delivery.id)).all()  # type: ignore[call-overload]
    assert hold(app.engine, [row.id for row in x_posts[:2]]) == 2
    with running_smtp_server(rcpt_replies=REPLIES, data_replies=DATA_REPLIES) as server:
        app.settings.email.mode = "smtp"
        app.settings.email.unsafe_test_relay = True  # aiosmtpd on loopback: no DKIM, http links
        app.settings.smtp.host, app.settings.smtp.port = server.host, server.port
        app.settings.smtp.security = "none"
        report = dispatch(app, ["email"])["email"]
    assert (report.sent, report.permanent, report.temporary) == (2, 2, 1)

    signed_in(app, client, "/desk")
    html = client.get("/desk").text

    last = card(html, "last-digest")
    assert digest.slug in last and str(escape(digest.subject)) in last
    assert "for 5 recipients" in last
    assert stats(last) == {
        "sent": 2,
        "pending": 1,
        "bounced": 1,
        "failed": 1,
        "suppressed": 0,
        "bounced later": 0,
        "complaints": 0,
    }

    social = card(html, "social-queue")
    rows = re.findall(
        r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td><td>(\d+)</td><td[^>]*>(\d+)</td>', social
    )
    # (pending, held, failed): two x posts held; nothing social was dispatched
    assert {r[0]: tuple(map(int, r[1:])) for r in rows} == {"facebook": (4, 0, 0), "x": (2, 2, 0)}
    assert 'href="/desk/social"' in social

    sources = card(html, "sources")
    assert re.search(r"meridian-review<br>.*?</th>\s*<td>12</td>", sources, re.S)
    assert "<time datetime=" in sources and ">none<" in sources  # polled, no error

    with app.engine.connect() as c:
        titles = (
            c.execute(
                sa.select(Article.title).order_by(  # type: ignore[call-overload]
                    sa.func.coalesce(Article.published_at, Article.first_seen_at).desc(), Article.id.desc()
                )
            )
            .scalars()
            .all()
        )
    articles = card(html, "articles")
    shown = re.findall(r'<td><a href="[^"]+" rel="noopener noreferrer">([^<]+)</a></td>', articles)
    assert len(titles) == 12 and shown == [str(escape(t)) for t in titles[:10]]

    next_run = card(html, "next-digest")
    assert shown_times(next_run) == [datetime(2026, 11, 30, 7, 0, tzinfo=UTC)]  # Monday 07:00 London (GMT)
    assert "per configuration" in next_run


@sqlite_only
@pytest.mark.clock(datetime(2027, 3, 26, 12, 0, tzinfo=UTC))  # the Friday before the clocks go forward
def test_the_next_run_comes_from_the_scheduler_s_store_once_it_has_jobs(app: App, client: TestClient) -> None:
    scheduler = build_scheduler(app)  # the persistent SQLAlchemy job store in the project's database
    scheduler.start(paused=True)
    try:
        ensure_jobs(scheduler, app)
        stored = scheduler.get_job("digest").next_run_time
    finally:
        scheduler.shutdown()
    signed_in(app, client, "/desk")
    next_run = card(client.get("/desk").text, "next-digest")
    assert stored == datetime(2027, 3, 29, 6, 0, tzinfo=UTC)  # Monday 07:00 BST
    assert shown_times(next_run) == [stored]  # the same instant, whichever offset each side writes
    assert "from the scheduler's stored job" in next_run and "per configuration" not in next_run


@sqlite_only
def test_an_empty_installation_shows_empty_cards(app: App, client: TestClient) -> None:
    signed_in(app, client, "/desk")
    html = client.get("/desk").text
    assert "No digest has been composed yet." in html
    assert "No articles yet" in html
    assert re.search(r'<th scope="row">x</th><td>0</td><td>0</td><td>0</td>', html)


@sqlite_only
def test_every_newsletter_has_its_next_run_and_last_edition(app: App, client: TestClient) -> None:
    from distro.settings import NewsletterSettings

    app.settings.newsletters = [
        NewsletterSettings(
            slug_prefix="security",
            name="Security brief",
            period="day",
            day_of_week="mon-fri",
            time="07:30",
            timezone="America/New_York",
            only_sections=["Security"],
        )
    ]
    ingest(app)
    add_subscriber(app, "both@example.org", newsletters=["weekly", "security"])
    for newsletter in app.settings.all_newsletters:
        result = open_edition(app, newsletter)
        assert result.digest is not None
        queue_edition(app, newsletter, result.digest)
    signed_in(app, client, "/desk")
    html = client.get("/desk").text
    next_run = card(html, "next-digest")
    assert "Weekly digest" in next_run and "Security brief" in next_run
    # Friday 12:00 UTC is 07:00 in New York: the brief goes at 07:30 EST today, the weekly on Monday.
    brief_at, weekly_at = datetime(2026, 11, 27, 12, 30, tzinfo=UTC), datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    assert shown_times(next_run) == [weekly_at, brief_at]
    last = card(html, "last-digest")
    assert last.index("Weekly digest") < last.index("Security brief")
    assert "weekly-" in last and "security-" in last and last.count(">1</strong>pending") == 2
