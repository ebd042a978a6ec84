"""Several newsletters per site: a weekly digest and a daily Security brief, each with its own sections,
template, List-Id, subscribers and scheduler job; through the real compose, outbox, dispatch and file sink.

Every test runs with the clock pinned at Wednesday 2026-11-25 12:00 UTC (the ``clock`` fixture, which
``two`` depends on): the articles arrive then, and the editions are composed an hour later."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.policy import default
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from apscheduler.triggers.cron import CronTrigger
from fastapi.testclient import TestClient

from distro.app import App
from distro.errors import ConfigError
from distro.models import Article, Delivery, Digest, Subscriber
from distro.scheduler import build_scheduler, digest_trigger, ensure_jobs
from distro.services.delivery import dispatch
from distro.services.digest_send import SentEdition, send_edition
from distro.services.ingest import ingest
from distro.services.signup import confirm, request_signup
from distro.services.subscribers import InvalidSubscriber, add_subscriber, import_csv
from distro.settings import NewsletterSettings, Settings
from distro.store import unsubscribe_events
from distro.web.app import create_web_app

pytestmark = pytest.mark.clock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))  # the articles arrive that day
BRIEF = NewsletterSettings(
    slug_prefix="security",
    name="Security brief",
    period="day",
    day_of_week="mon-fri",
    time="07:30",
    timezone="America/New_York",
    template="brief",
    only_sections=["Security"],
    window_days=30,
    subject="Security brief · {{ lead.title }}",
)


@pytest.fixture
def two(app: App, clock: time_machine.Traveller) -> App:
    app.settings.newsletters = [BRIEF.model_copy()]
    app.settings.digest.window_days = 30
    ingest(app)
    add_subscriber(app, "weekly@example.org")  # never chose: the default newsletters only
    add_subscriber(app, "both@example.org", newsletters=["weekly", "security"])
    add_subscriber(app, "brief@example.org", newsletters=["security"])
    return app


def send(app: App, now: datetime, newsletter: str | None = None) -> SentEdition:
    """What the newsletter's scheduler job does at ``now``."""
    return send_edition(app, app.settings.newsletter(newsletter), now, refresh=True)


def mail(app: App) -> dict[str, list[Message]]:
    dispatch(app, ["email"])
    got: dict[str, list[Message]] = {}
    for path in sorted(Path(app.settings.email_dir).glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default)
        got.setdefault(str(message["To"]), []).append(message)
    return got


def test_each_newsletter_goes_to_its_own_readers_with_its_own_stories_and_list(two: App) -> None:
    now = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    weekly, brief = send(two, now), send(two, now, "security")
    assert weekly.digest is not None and brief.digest is not None
    assert (weekly.digest.slug, brief.digest.slug) == ("weekly-2026-W48", "security-2026-11-25")
    assert (weekly.queued, brief.queued) == (2, 2)
    with two.engine.connect() as connection:
        sections = dict(connection.execute(sa.select(Article.id, Article.section)).all())
        newsletters = dict(connection.execute(sa.select(Digest.slug, Digest.newsletter)).all())
    assert newsletters == {"weekly-2026-W48": "weekly", "security-2026-11-25": "security"}
    assert {sections[i] for i in brief.digest.article_ids} == {"Security"}
    assert len(set(sections[i] for i in weekly.digest.article_ids)) > 1
    got = mail(two)
    assert sorted((to.split("<")[-1].rstrip(">"), len(m)) for to, m in got.items()) == [
        ("both@example.org", 2),
        ("brief@example.org", 1),
        ("weekly@example.org", 1),
    ]
    brief_mail = got["brief@example.org"][0]
    assert brief_mail["Subject"].startswith("Security brief · ")
    assert brief_mail["List-Id"] == "The Meridian Review Security brief <security.meridian-review.example>"
    assert got["weekly@example.org"][0]["List-Id"] == "The Meridian Review <weekly.meridian-review.example>"
    text = brief_mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Security brief, 25 November 2026" in text and "today's" in text
    assert "subscribed to the security brief of" in " ".join(text.split())


def test_a_daily_edition_is_one_per_local_day_and_never_repeats_a_story(two: App) -> None:
    day = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    first = send(two, day, "security")
    assert first.digest is not None and first.queued == 2
    again = send(two, day + timedelta(hours=14), "security")  # 03:00 UTC: the 25th in New York
    assert again.digest is not None and again.digest.slug == first.digest.slug and again.queued == 0
    next_day = send(two, day + timedelta(days=1), "security")
    assert next_day.digest is None and "no new articles" in next_day.reason and next_day.queued == 0
    weekly = send(two, day + timedelta(days=1))  # the brief's window is not the weekly's
    assert weekly.digest is not None and weekly.queued == 2


def test_each_newsletter_has_its_own_scheduler_job_and_timezone(two: App) -> None:
    scheduler = build_scheduler(two, persistent=False)
    scheduler.start(paused=True)
    ensure_jobs(scheduler, two)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert {"digest", "digest:security"} <= set(jobs)
    assert jobs["digest:security"].kwargs == {"newsletter": "security"} and jobs["digest"].kwargs == {}
    trigger = jobs["digest:security"].trigger
    assert isinstance(trigger, CronTrigger) and str(trigger.timezone) == "America/New_York"
    assert jobs["digest:security"].misfire_grace_time == two.settings.scheduler.digest_grace_minutes * 60
    # Friday 27 November 2026, after 07:30 New York: the next brief is Monday 30th, 07:30 EST = 12:30 UTC.
    after = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)
    assert digest_trigger(two, "security").get_next_fire_time(None, after) == datetime(
        2026, 11, 30, 12, 30, tzinfo=UTC
    )
    two.settings.newsletters = []
    ensure_jobs(scheduler, two)
    remaining = {job.id for job in scheduler.get_jobs()}
    scheduler.shutdown()
    assert "digest:security" not in remaining and "digest" in remaining


def test_configuration_errors_name_the_newsletter(tmp_path: Path, two: App) -> None:
    with pytest.raises(ValueError, match="slug_prefix security is used twice"):
        Settings(newsletters=[BRIEF, BRIEF])
    with pytest.raises(ValueError, match="slug_prefix"):
        NewsletterSettings(slug_prefix="Security-Brief", name="x")
    with pytest.raises(ConfigError, match="unknown newsletter 'sport'.*weekly, security"):
        two.settings.newsletter("sport")
    with pytest.raises(InvalidSubscriber, match="unknown newsletter sport"):
        add_subscriber(two, "x@example.org", newsletters=["sport"])
    csv = tmp_path / "people.csv"
    csv.write_text("email,name,sections,newsletters\na@example.org,,,security\nb@example.org,,,sport\n")
    report = import_csv(two, csv)
    assert report.added == 1 and report.rejected[0][0] == 3 and "sport" in report.rejected[0][1]


def _subscriber(app: App, address: str) -> Subscriber:
    with app.engine.connect() as connection:
        row = connection.execute(sa.select(Subscriber).where(Subscriber.email == address)).one()
    return Subscriber(**row._mapping)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_readers_choose_newsletters_at_sign_up_and_in_preferences(two: App) -> None:
    request_signup(two, "new@example.org", None, None, ["security", "nonsense"])
    with two.engine.connect() as connection:
        signup_id = connection.execute(sa.text("SELECT id FROM signup")).scalar_one()
    from distro.services.signup import Signup, confirm_url

    with two.engine.connect() as connection:
        row = connection.execute(sa.select(Signup).where(Signup.id == signup_id)).one()
    confirm(two, confirm_url(two, Signup(**row._mapping)).rsplit("/", 1)[1])
    assert _subscriber(two, "new@example.org").newsletters == ["security"]

    from distro.services.personal import preferences_url

    reader = _subscriber(two, "weekly@example.org")
    with TestClient(create_web_app(two)) as client:
        path = preferences_url(two, reader.id or 0).split("8000", 1)[1]
        page = client.get(path).text
        assert 'value="weekly" checked' in page and 'value="security">' in page
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        form = {"csrf": csrf, "action": "save", "pause_weeks": "0", "newsletters_shown": "1"}
        refused = client.post(path, data=form)
        assert refused.status_code == 422 and "at least one newsletter" in refused.text
        assert _subscriber(two, "weekly@example.org").newsletters is None
        saved = client.post(path, data={**form, "newsletters": ["security"]})
        assert saved.status_code == 200 and 'value="security" checked' in saved.text
        assert "Security brief" in client.get("/subscribe").text
    assert _subscriber(two, "weekly@example.org").newsletters == ["security"]
    now = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    assert send(two, now).queued == 1  # only both@ still gets the weekly
    with two.engine.connect() as connection:
        weekly_to = (
            connection.execute(sa.select(Delivery.recipient).where(Delivery.key.like("digest:weekly-%")))
            .scalars()
            .all()
        )
    assert weekly_to == ["both@example.org"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_one_click_in_a_brief_stops_the_brief_only_and_its_queued_copies(two: App) -> None:
    now = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    send(two, now, "security")
    got = mail(two)
    brief_to_both = next(m for to, ms in got.items() if "both@" in to for m in ms)
    link = brief_to_both["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    edition = link.rpartition("&e=")[2]
    assert link.endswith(f"?list=security&e={edition}") and edition.startswith("security-")
    path = link.split("8000", 1)[1]
    later = now + timedelta(days=1)
    # New Security stories arrive the next day.
    with two.engine.begin() as connection:
        connection.execute(
            sa.update(Article).where(Article.section == "Security").values(first_seen_at=later)
        )
    result = send(two, later + timedelta(minutes=5), "security")
    assert (
        result.digest is not None and result.queued == 2
    )  # queued for both@ and brief@ before anyone clicks
    with TestClient(create_web_app(two)) as client:
        page = client.get(path)
        assert "Unsubscribe from the Security brief" in page.text and "everything" in page.text
        assert client.post(path, data={"List-Unsubscribe": "One-Click"}).text == "unsubscribed\n"
        assert client.post(path, data={"List-Unsubscribe": "One-Click"}).text == "unsubscribed\n"  # again
    assert unsubscribe_events.counts(two.engine, [edition]) == {edition: 1}  # counted once, for its edition
    both = _subscriber(two, "both@example.org")
    assert both.status == "active" and both.newsletters == ["weekly"]  # still gets the weekly
    dispatch(two, ["email"])
    with two.engine.connect() as connection:
        outcome = dict(
            connection.execute(
                sa.select(Delivery.recipient, Delivery.status).where(Delivery.digest_id == result.digest.id)
            ).all()
        )
    assert outcome == {"both@example.org": "suppressed", "brief@example.org": "sent"}
    # A reader whose only newsletter it is: one click unsubscribes them from everything.
    brief_only = _subscriber(two, "brief@example.org")
    from distro.services.personal import personal_for

    link = personal_for(
        two,
        digest_slug="x",
        subscriber_id=brief_only.id or 0,
        email=brief_only.email,
        name=None,
        delivery_id=1,
        newsletter="security",
    ).unsubscribe_url
    with TestClient(create_web_app(two)) as client:
        client.post(link.split("8000", 1)[1], data={"List-Unsubscribe": "One-Click"})
    assert _subscriber(two, "brief@example.org").status == "unsubscribed"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_unsubscribe_page_of_a_brief_offers_the_brief_or_everything(two: App) -> None:
    from distro.services.personal import unsubscribe_url

    both = _subscriber(two, "both@example.org")
    path = unsubscribe_url(two, both.id or 0).split("8000", 1)[1] + "?list=security"
    with TestClient(create_web_app(two)) as client:
        page = client.get(path).text
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        done = client.post(path, data={"csrf": csrf, "action": "leave"})
        assert "no more Security brief" in done.text and "Unsubscribe from everything" in done.text
        assert _subscriber(two, "both@example.org").newsletters == ["weekly"]
        client.post(path, data={"csrf": csrf, "action": "unsubscribe"})
    assert _subscriber(two, "both@example.org").status == "unsubscribed"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_test_copy_of_the_brief_carries_the_brief_s_list_id(two: App) -> None:
    from distro.services.digest_compose import open_edition
    from distro.services.digest_edit import send_test

    brief = two.settings.newsletter("security")
    digest = open_edition(two, brief, datetime(2026, 11, 25, 13, 0, tzinfo=UTC)).digest
    assert digest is not None
    assert send_test(two, digest, "editor@example.org").status == "sent"  # its List-Id from the digest row
    (copy,) = mail(two)["editor@example.org"]
    assert copy["Subject"].startswith("[TEST] Security brief")
    assert copy["List-Id"].endswith("<security.meridian-review.example>")
