"""What the desk's dashboard shows: sources, newest articles, the next digest run (with its schedule in
words), the last *sent* edition's deliveries, editions composed but not sent, and the social queue, read in
a handful of grouped queries. An edition's recipients are its rows for readers less those dropped at send
time (unsubscribed, paused or suppressed after queueing), so the headline matches the counts beneath it.

Sources come from :func:`distro.services.ingest.list_sources` (what ``distro sources list`` prints) and the
next runs from the scheduler's job store as ``distro status`` reads it, so the desk and the command line
never disagree. A hard bounce is a failed delivery whose attempt log has a ``hard_bounce`` outcome (the
outbox records one when the receiving server refused the address); the address text is not needed, so
bounces stay counted after an address is forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from distro.app import App
from distro.errors import ConfigError
from distro.models import DeliveryStatus, DigestStatus, utcnow
from distro.services.digest_calendar import digest_job_id, digest_trigger
from distro.services.ingest import SourceStatus, list_sources
from distro.services.status import stored_jobs
from distro.store import articles, bounce_events, deliveries, delivery_log, editions
from distro.store.editions import TEST_KEY_PREFIX

NEWEST_ARTICLES = 10
DIGEST_JOB = "digest"


@dataclass(frozen=True, slots=True)
class NewArticle:
    id: int
    title: str
    url: str
    section: str | None
    published_at: datetime  # when the source says, or when we first saw it


@dataclass(frozen=True, slots=True)
class NextRun:
    """When a digest job fires next: from the job store (``stored``) or computed from the settings."""

    job: str
    when: datetime | None  # None: paused in the store, or no future time
    stored: bool
    trigger: str
    error: str | None = None  # the schedule in the settings is invalid
    newsletter: str = ""  # its name, e.g. "Weekly digest"
    zone: str = "UTC"  # the newsletter's timezone: the time is shown in it
    schedule: str = ""  # the schedule in words, e.g. "every Monday at 07:00"


@dataclass(frozen=True, slots=True)
class DigestDeliveries:
    """A digest and what became of its deliveries; the counts add up to every row queued for it."""

    slug: str
    subject: str
    newsletter: str  # its name
    status: str
    created_at: datetime
    queued_at: datetime | None
    recipients: int  # readers it goes (or went) to: its rows, less those dropped since queueing
    queued: int = 0  # rows queued for readers (test copies are not counted)
    sent: int = 0
    bounced: int = 0  # failed: the receiving server refused the address
    failed: int = 0  # failed for any other reason
    pending: int = 0  # waiting for a first or next try, or being sent
    suppressed: int = 0  # dropped at send time: unsubscribed, paused, left or suppressed after queueing
    # Came back after the relay took them (DSNs, complaints, ESP webhooks; distro.services.bounces).
    bounced_later: int = 0
    complaints: int = 0


@dataclass(frozen=True, slots=True)
class SocialChannelQueue:
    channel: str
    pending: int = 0  # waiting or being sent
    held: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class UnsentEdition:
    slug: str
    subject: str
    newsletter: str  # its name
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Overview:
    sources: list[SourceStatus]
    articles: list[NewArticle]
    next_runs: list[NextRun]
    last_digests: list[DigestDeliveries]  # the latest sent edition of each newsletter that has one
    social: list[SocialChannelQueue] = field(default_factory=list)
    # Editions composed but not sent yet (being edited, or waiting for their time), newest first.
    unsent: list[UnsentEdition] = field(default_factory=list)

    @property
    def last_digest(self) -> DigestDeliveries | None:
        """The main newsletter's latest edition (or the first newsletter's that has one)."""
        return self.last_digests[0] if self.last_digests else None


def next_digest_runs(app: App, now: datetime | None = None) -> list[NextRun]:
    """Each newsletter's next edition: from its stored job, or, before a scheduler stored one, the next
    fire time of its configuration."""
    stored = {str(job["job"]): job for job in stored_jobs(app) if str(job["job"]).startswith(DIGEST_JOB)}
    runs: list[NextRun] = []
    for newsletter in app.settings.all_newsletters:
        job_id = digest_job_id(app, newsletter.slug_prefix)
        schedule = schedule_words(newsletter.day_of_week, newsletter.time)
        about = {"newsletter": newsletter.name, "zone": newsletter.timezone, "schedule": schedule}
        if job_id in stored:
            job = stored[job_id]
            runs.append(NextRun(job_id, job["next_run"], True, str(job["trigger"]), **about))
            continue
        try:
            trigger = digest_trigger(app, newsletter.slug_prefix)
        except ConfigError as exc:
            runs.append(NextRun(job_id, None, False, "", str(exc), newsletter=newsletter.name))
            continue
        when = trigger.get_next_fire_time(None, now or utcnow())
        runs.append(NextRun(job_id, when, False, str(trigger), **about))
    return runs


_DAYS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}


def schedule_words(day_of_week: str, time: str) -> str:
    """A cron day-of-week and time as a person says them: "every Monday at 07:00", "Monday to Friday
    at 07:30"; an expression without words for it (``*/2``) is shown as written."""
    days = day_of_week.strip().lower()
    if days in ("*", "mon-sun"):
        return f"every day at {time}"
    spans = []
    for part in days.split(","):
        first, _, last = part.strip().partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            return f"on days {day_of_week} at {time}"
        spans.append(f"{_DAYS[first]} to {_DAYS[last]}" if last else _DAYS[first])
    joined = spans[0] if len(spans) == 1 else ", ".join(spans[:-1]) + " and " + spans[-1]
    return f"every {joined} at {time}" if "-" not in days else f"{joined} at {time}"


def _newest_articles(app: App) -> list[NewArticle]:
    return [
        NewArticle(a.id or 0, a.title, a.url, a.section, published)
        for a, published in articles.newest(app.engine, NEWEST_ARTICLES)
    ]


def _last_digest(app: App, prefix: str, name: str) -> DigestDeliveries | None:
    """The newsletter's last *sent* (queued) edition and its rows' outcomes; a composed edition waiting to
    be sent is not it (:func:`_unsent` lists those)."""
    found = editions.sent_editions(app.engine, prefix, limit=1)
    if not found:
        return None
    latest = found[0]
    edition_id = latest.id or 0
    by_status = delivery_log.edition_outcomes(app.engine, edition_id, besides_prefix=TEST_KEY_PREFIX)

    def count(*states: DeliveryStatus) -> int:
        return sum(by_status.get(state, (0, 0))[0] for state in states)

    bounced = by_status.get(DeliveryStatus.FAILED, (0, 0))[1]
    later = bounce_events.came_back(app.engine, edition_id)
    queued = sum(n for n, _ in by_status.values())
    suppressed = count(DeliveryStatus.SUPPRESSED)
    return DigestDeliveries(
        slug=latest.slug,
        subject=latest.subject,
        newsletter=name,
        status=latest.status,
        created_at=latest.created_at,
        queued_at=latest.queued_at,
        recipients=queued - suppressed,
        queued=queued,
        sent=count(DeliveryStatus.SENT),
        bounced=bounced,
        failed=count(DeliveryStatus.FAILED) - bounced,
        pending=count(DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.HELD),
        suppressed=suppressed,
        bounced_later=later.get("hard", 0) + later.get("soft", 0),
        complaints=later.get("complaint", 0),
    )


def _unsent(app: App, prefix: str, name: str) -> UnsentEdition | None:
    latest = delivery_log.last_edition(app.engine, prefix)
    if latest is None or latest.status != DigestStatus.COMPOSED:
        return None
    return UnsentEdition(latest.slug, latest.subject, name, latest.created_at)


def social_queues(app: App) -> list[SocialChannelQueue]:
    """Every enabled social channel, and any other with posts, with its posts waiting, held and failed."""
    counts: dict[str, dict[str, int]] = {name: {} for name in app.enabled_channels() if name != "email"}
    counts |= deliveries.counts(app.engine, social=True)
    return [
        SocialChannelQueue(
            channel,
            pending=by.get(DeliveryStatus.PENDING, 0) + by.get(DeliveryStatus.SENDING, 0),
            held=by.get(DeliveryStatus.HELD, 0),
            failed=by.get(DeliveryStatus.FAILED, 0),
        )
        for channel, by in sorted(counts.items())
    ]


def overview(app: App, now: datetime | None = None) -> Overview:
    last_digests = [
        found
        for n in app.settings.all_newsletters
        if (found := _last_digest(app, n.slug_prefix, n.name)) is not None
    ]
    unsent = [
        waiting
        for n in app.settings.all_newsletters
        if (waiting := _unsent(app, n.slug_prefix, n.name)) is not None
    ]
    return Overview(
        list_sources(app),
        _newest_articles(app),
        next_digest_runs(app, now),
        last_digests,
        social_queues(app),
        unsent,
    )
