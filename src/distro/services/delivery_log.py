"""The delivery log as editors read it: the rows behind ``distro log`` and the desk's /desk/log, with one set
of filters, and the sends and failures over time behind the desk's chart.

The table and the chart take the same :class:`LogFilter`, so they always describe the same rows. Time
buckets are computed in SQL (``strftime`` on SQLite, ``to_char`` on PostgreSQL) on the stored naive UTC
times, so the chart reads at most one row per bucket and status however many deliveries there are. A
delivery's time is when it was sent, or else when it last changed (its last attempt, or its queueing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from distro.app import App
from distro.db import is_postgres
from distro.models import Article, Delivery, DeliveryStatus, Digest, SocialPost, utcnow

D = Delivery.__table__  # type: ignore[attr-defined]
DG = Digest.__table__  # type: ignore[attr-defined]
SP = SocialPost.__table__  # type: ignore[attr-defined]
AR = Article.__table__  # type: ignore[attr-defined]
PAGE_SIZE = 50
CHART_DAYS = 30
HOURLY_BELOW = timedelta(days=2)  # rows spanning less than this are charted per hour
MAX_PAGE = 100_000
MAX_ADDRESS = 320
STATUSES = tuple(s.value for s in DeliveryStatus)
# When the delivery went out, or else when it last changed (a failure is final when recorded).
delivery_time = sa.func.coalesce(D.c.sent_at, D.c.updated_at)


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Which deliveries to show; None means any. ``address`` matches part of the recipient, in any case."""

    digest: str | None = None  # a digest slug
    channel: str | None = None
    status: str | None = None
    address: str | None = None

    def params(self) -> dict[str, str]:
        """The filters that are set, as query parameters (for links that keep them)."""
        return {name: value for name, value in asdict(self).items() if value}


@dataclass(frozen=True, slots=True)
class LogEntry:
    id: int
    channel: str
    recipient: str
    status: str
    attempts: int
    provider_id: str | None
    last_error: str | None
    digest: str | None
    updated_at: datetime
    sent_at: datetime | None
    post: str | None = None  # the title of the article a social post is about

    @property
    def time(self) -> datetime:
        return self.sent_at or self.updated_at


def _where(query: sa.Select[Any], wanted: LogFilter) -> sa.Select[Any]:
    if wanted.channel:
        query = query.where(D.c.channel == wanted.channel)
    if wanted.status:
        query = query.where(D.c.status == wanted.status)
    if wanted.digest:
        query = query.where(D.c.digest_id.in_(sa.select(DG.c.id).where(DG.c.slug == wanted.digest)))
    if wanted.address:
        query = query.where(sa.func.lower(D.c.recipient).contains(wanted.address.lower(), autoescape=True))
    return query


def delivery_log(
    app: App,
    *,
    channel: str | None = None,
    status: str | None = None,
    digest: str | None = None,
    address: str | None = None,
    limit: int = 200,
    offset: int = 0,
    newest_first: bool = False,
) -> list[LogEntry]:
    """Deliveries matching the filters, oldest first (``newest_first``: most recently queued first)."""
    query = _where(
        sa.select(D, DG.c.slug, AR.c.title)
        .select_from(
            D.outerjoin(DG, DG.c.id == D.c.digest_id)
            .outerjoin(SP, SP.c.id == D.c.social_post_id)
            .outerjoin(AR, AR.c.id == SP.c.article_id)
        )
        .order_by(D.c.id.desc() if newest_first else D.c.id)
        .limit(limit)
        .offset(offset),
        LogFilter(digest, channel, status, address),
    )
    with app.engine.connect() as connection:
        return [
            LogEntry(
                row.id,
                row.channel,
                row.recipient,
                row.status,
                row.attempts,
                row.provider_id,
                row.last_error,
                row.slug,
                row.updated_at,
                row.sent_at,
                row.title,
            )
            for row in connection.execute(query)
        ]


# -- the chart --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime  # aware UTC: the day's midnight or the hour's start
    sent: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class Activity:
    """Sent and failed deliveries per day over the last :data:`CHART_DAYS` days, or per hour when the
    matching rows span less than :data:`HOURLY_BELOW`; every bucket is present, empty ones with zeros."""

    unit: Literal["day", "hour"]
    buckets: tuple[Bucket, ...]

    @property
    def sent(self) -> int:
        return sum(b.sent for b in self.buckets)

    @property
    def failed(self) -> int:
        return sum(b.failed for b in self.buckets)


_FORMATS = {
    # (PostgreSQL to_char, SQLite strftime, Python strptime) of a bucket's label
    "day": ("YYYY-MM-DD", "%Y-%m-%d", "%Y-%m-%d"),
    "hour": ("YYYY-MM-DD HH24", "%Y-%m-%d %H", "%Y-%m-%d %H"),
}


def _bucket_of(app: App, unit: str) -> sa.ColumnElement[str]:
    pg, lite, _ = _FORMATS[unit]
    # Literal formats (not bind parameters), so GROUP BY repeats exactly the selected expression.
    if is_postgres(app.engine):
        return sa.func.to_char(delivery_time, sa.literal_column(f"'{pg}'"), type_=sa.String)
    return sa.func.strftime(sa.literal_column(f"'{lite}'"), delivery_time, type_=sa.String)


def _starts(first: datetime, last: datetime, step: timedelta) -> list[datetime]:
    starts, at = [], first
    while at <= last:
        starts.append(at)
        at += step
    return starts


def activity(app: App, wanted: LogFilter, now: datetime | None = None) -> Activity:
    """Two grouped queries: the matching rows' time span, then counts per bucket and status."""
    now = (now or utcnow()).astimezone(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = today - timedelta(days=CHART_DAYS - 1)
    recent = sa.and_(D.c.status.in_([DeliveryStatus.SENT, DeliveryStatus.FAILED]), delivery_time >= since)
    span = _where(sa.select(sa.func.min(delivery_time), sa.func.max(delivery_time)).where(recent), wanted)
    with app.engine.connect() as connection:
        first, last = connection.execute(span).one()
        hourly = first is not None and last - first < HOURLY_BELOW
        unit: Literal["day", "hour"] = "hour" if hourly else "day"
        bucket = _bucket_of(app, unit).label("bucket")
        grouped = _where(
            sa.select(bucket, D.c.status, sa.func.count()).where(recent).group_by(bucket, D.c.status), wanted
        )
        counts: dict[datetime, dict[str, int]] = {}
        for label, status, count in connection.execute(grouped):
            start = datetime.strptime(label, _FORMATS[unit][2]).replace(tzinfo=UTC)
            counts.setdefault(start, {})[status] = count
    if hourly:
        starts = _starts(first.replace(minute=0, second=0, microsecond=0), last, timedelta(hours=1))
    else:
        starts = _starts(since, today, timedelta(days=1))
    return Activity(
        unit,
        tuple(
            Bucket(start, counts.get(start, {}).get("sent", 0), counts.get(start, {}).get("failed", 0))
            for start in starts
        ),
    )


# -- the desk page --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogQuery:
    """The page's query parameters, checked; ``problems`` says what was ignored and why."""

    filter: LogFilter
    page: int = 1
    problems: tuple[str, ...] = ()


def read_query(params: Mapping[str, str]) -> LogQuery:
    """Filters and page number from query parameters; an invalid value is dropped with a message."""
    problems: list[str] = []

    def text(name: str) -> str | None:
        return (params.get(name) or "").strip() or None

    status = text("status")
    if status is not None and status not in STATUSES:
        choices = ", ".join(STATUSES)
        problems.append(f"There is no delivery status “{_quoted(status)}”; choose one of {choices}.")
        status = None
    address = text("address")
    if address is not None and len(address) > MAX_ADDRESS:
        problems.append(f"An address has at most {MAX_ADDRESS} characters; the address filter was ignored.")
        address = None
    page, raw = 1, text("page")
    if raw is not None:
        if raw.isdecimal() and 1 <= int(raw) <= MAX_PAGE:
            page = int(raw)
        else:
            problems.append(f"“{raw[:40]}” is not a page number (1 to {MAX_PAGE}); showing the first page.")
    return LogQuery(LogFilter(text("digest"), text("channel"), status, address), page, tuple(problems))


@dataclass(frozen=True, slots=True)
class LogPage:
    filter: LogFilter
    page: int
    entries: list[LogEntry]
    has_older: bool
    activity: Activity
    digests: list[str]  # slugs, newest first, for the filter's choices
    channels: list[str]  # channels that have deliveries
    statuses: tuple[str, ...] = STATUSES
    problems: list[str] = field(default_factory=list)


def log_page(app: App, params: Mapping[str, str], now: datetime | None = None) -> LogPage:
    """One page of :data:`PAGE_SIZE` rows, newest first, with the chart and the filters' choices."""
    query = read_query(params)
    wanted, problems = query.filter, list(query.problems)
    rows = delivery_log(
        app,
        **asdict(wanted),
        limit=PAGE_SIZE + 1,
        offset=(query.page - 1) * PAGE_SIZE,
        newest_first=True,
    )
    with app.engine.connect() as connection:
        digests = list(connection.execute(sa.select(DG.c.slug).order_by(DG.c.id.desc()).limit(500)).scalars())
        channels = list(connection.execute(sa.select(D.c.channel).distinct().order_by(D.c.channel)).scalars())
        if wanted.digest and wanted.digest not in digests:
            known = connection.execute(sa.select(DG.c.slug).where(DG.c.slug == wanted.digest)).first()
            if known is None:
                problems.append(f"There is no digest “{_quoted(wanted.digest)}”.")
            digests.append(wanted.digest)  # keep it selected in the form
    if wanted.channel and wanted.channel not in channels:
        problems.append(f"Nothing was ever queued on the channel “{_quoted(wanted.channel)}”.")
        channels.append(wanted.channel)
    if query.page > 1 and not rows:
        problems.append(f"Page {query.page} is past the oldest matching delivery.")
    return LogPage(
        filter=wanted,
        page=query.page,
        entries=rows[:PAGE_SIZE],
        has_older=len(rows) > PAGE_SIZE,
        activity=activity(app, wanted, now),
        digests=digests,
        channels=channels,
        problems=problems,
    )


def _quoted(value: str, most: int = 40) -> str:
    """A query value echoed in a notice, cut short: a crafted link must not put a message on the desk."""
    return value if len(value) <= most else value[: most - 1] + "…"
