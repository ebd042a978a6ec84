"""What the desk's dashboard shows: sources, newest articles, the next digest run, the last digest's
deliveries and the social queue, read in a handful of grouped queries.

Sources come from :func:`distro.services.ingest.list_sources` (what ``distro sources list`` prints) and the
next runs from the scheduler's job store as ``distro status`` reads it, so the desk and the command line
never disagree. A hard bounce is a failed delivery whose attempt log has a ``hard_bounce`` outcome (the
outbox records one when the receiving server refused the address); the address text is not needed, so
bounces stay counted after an address is forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from distro.app import App
from distro.errors import ConfigError
from distro.models import Article, AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus, Digest, utcnow
from distro.services.digest_calendar import digest_job_id, digest_trigger
from distro.services.ingest import SourceStatus, list_sources
from distro.services.status import _jobs
from distro.store.editions import TEST_KEY_PREFIX

D = Delivery.__table__  # type: ignore[attr-defined]
A = DeliveryAttempt.__table__  # type: ignore[attr-defined]
DG = Digest.__table__  # type: ignore[attr-defined]
AR = Article.__table__  # type: ignore[attr-defined]
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


@dataclass(frozen=True, slots=True)
class DigestDeliveries:
    """A digest and what became of its deliveries; the counts add up to every row queued for it."""

    slug: str
    subject: str
    newsletter: str  # its name
    status: str
    created_at: datetime
    queued_at: datetime | None
    recipients: int
    sent: int = 0
    bounced: int = 0  # failed: the receiving server refused the address
    failed: int = 0  # failed for any other reason
    pending: int = 0  # waiting for a first or next try, or being sent
    suppressed: int = 0


@dataclass(frozen=True, slots=True)
class SocialChannelQueue:
    channel: str
    pending: int = 0  # waiting or being sent
    held: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class Overview:
    sources: list[SourceStatus]
    articles: list[NewArticle]
    next_runs: list[NextRun]
    last_digests: list[DigestDeliveries]  # the latest edition of each newsletter that has one
    social: list[SocialChannelQueue] = field(default_factory=list)

    @property
    def last_digest(self) -> DigestDeliveries | None:
        """The main newsletter's latest edition (or the first newsletter's that has one)."""
        return self.last_digests[0] if self.last_digests else None


def next_digest_runs(app: App, now: datetime | None = None) -> list[NextRun]:
    """Each newsletter's next edition: from its stored job, or, before a scheduler stored one, the next
    fire time of its configuration."""
    stored = {str(job["job"]): job for job in _jobs(app) if str(job["job"]).startswith(DIGEST_JOB)}
    runs: list[NextRun] = []
    for newsletter in app.settings.all_newsletters:
        job_id = digest_job_id(app, newsletter.slug_prefix)
        if job_id in stored:
            job = stored[job_id]
            runs.append(
                NextRun(job_id, job["next_run"], True, str(job["trigger"]), newsletter=newsletter.name)
            )
            continue
        try:
            trigger = digest_trigger(app, newsletter.slug_prefix)
        except ConfigError as exc:
            runs.append(NextRun(job_id, None, False, "", str(exc), newsletter=newsletter.name))
            continue
        when = trigger.get_next_fire_time(None, now or utcnow())
        runs.append(NextRun(job_id, when, False, str(trigger), newsletter=newsletter.name))
    return runs


def _newest_articles(connection: sa.Connection) -> list[NewArticle]:
    published = sa.func.coalesce(AR.c.published_at, AR.c.first_seen_at).label("published")
    query = (
        sa.select(AR.c.id, AR.c.title, AR.c.url, AR.c.section, published)
        .order_by(published.desc(), AR.c.id.desc())
        .limit(NEWEST_ARTICLES)
    )
    return [NewArticle(r.id, r.title, r.url, r.section, r.published) for r in connection.execute(query)]


def _last_digest(connection: sa.Connection, prefix: str, name: str) -> DigestDeliveries | None:
    latest = connection.execute(
        sa.select(DG)
        .where(DG.c.newsletter == prefix)
        .order_by(sa.func.coalesce(DG.c.queued_at, DG.c.created_at).desc(), DG.c.id.desc())
        .limit(1)
    ).first()
    if latest is None:
        return None
    bounce = sa.exists().where(A.c.delivery_id == D.c.id, A.c.outcome == AttemptOutcome.HARD_BOUNCE)
    counts = (
        sa.select(D.c.status, sa.func.count(), sa.func.sum(sa.case((bounce, 1), else_=0)))
        .where(D.c.digest_id == latest.id, sa.not_(D.c.key.startswith(TEST_KEY_PREFIX)))  # not test sends
        .group_by(D.c.status)
    )
    by_status = {
        status: (int(count), int(bounced or 0)) for status, count, bounced in connection.execute(counts)
    }

    def count(*states: DeliveryStatus) -> int:
        return sum(by_status.get(state, (0, 0))[0] for state in states)

    bounced = by_status.get(DeliveryStatus.FAILED, (0, 0))[1]
    return DigestDeliveries(
        slug=latest.slug,
        subject=latest.subject,
        newsletter=name,
        status=latest.status,
        created_at=latest.created_at,
        queued_at=latest.queued_at,
        recipients=latest.recipients,
        sent=count(DeliveryStatus.SENT),
        bounced=bounced,
        failed=count(DeliveryStatus.FAILED) - bounced,
        pending=count(DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.HELD),
        suppressed=count(DeliveryStatus.SUPPRESSED),
    )


def social_queues(app: App, connection: sa.Connection) -> list[SocialChannelQueue]:
    """Every enabled social channel, and any other with posts, with its posts waiting, held and failed."""
    counts: dict[str, dict[str, int]] = {name: {} for name in app.enabled_channels() if name != "email"}
    query = (
        sa.select(D.c.channel, D.c.status, sa.func.count())
        .where(D.c.social_post_id.is_not(None))
        .group_by(D.c.channel, D.c.status)
    )
    for channel, status, number in connection.execute(query):
        counts.setdefault(channel, {})[status] = number
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
    sources = list_sources(app)
    with app.engine.connect() as connection:
        articles = _newest_articles(connection)
        last_digests = [
            found
            for n in app.settings.all_newsletters
            if (found := _last_digest(connection, n.slug_prefix, n.name)) is not None
        ]
        social = social_queues(app, connection)
    return Overview(sources, articles, next_digest_runs(app, now), last_digests, social)
