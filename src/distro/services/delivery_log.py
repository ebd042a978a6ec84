"""The delivery log as editors read it: the rows behind ``distro log`` and the desk's /desk/log, with one set
of filters, and the sends and failures over time behind the desk's chart.

The table and the chart take the same :class:`~distro.store.delivery_log.LogFilter`, so they always
describe the same rows (the queries, and how time buckets are counted: :mod:`distro.store.delivery_log`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from distro.app import App
from distro.models import BounceEvent, DeliveryStatus, utcnow
from distro.store import bounce_events
from distro.store import delivery_log as log
from distro.store.delivery_log import LogFilter as LogFilter  # faces build it, the store reads it

PAGE_SIZE = 50
CHART_DAYS = 30
HOURLY_BELOW = timedelta(days=2)  # rows spanning less than this are charted per hour
MAX_PAGE = 100_000
MAX_ADDRESS = 320
STATUSES = tuple(s.value for s in DeliveryStatus)


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
    # What came back after it was sent: a bounce or complaint, e.g. "hard 5.1.1 (dsn): suppressed".
    bounce: str | None = None

    @property
    def time(self) -> datetime:
        return self.sent_at or self.updated_at


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
    wanted = LogFilter(digest, channel, status, address)
    rows = log.entries(app.engine, wanted, limit=limit, offset=offset, newest_first=newest_first)
    events = bounce_events.latest_for_deliveries(
        app.engine, [row.id for row in rows if row.channel == "email"]
    )
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
            describe(events[row.id]) if row.id in events else None,
        )
        for row in rows
    ]


def describe(event: BounceEvent) -> str:
    """One event in a few words: kind, status, where it came from, what it did."""
    status = f" {event.status}" if event.status else ""
    via = event.provider or event.source
    return f"{event.kind}{status} ({via}): {event.action}"


# -- the chart --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime  # aware, in the desk's zone: the local day's first instant or the local hour's start
    sent: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class Activity:
    """Sent and failed deliveries per local day (in ``zone``, the desk's) over the last :data:`CHART_DAYS`
    days, or per local hour when the matching rows span less than :data:`HOURLY_BELOW`; every bucket is
    present, empty ones with zeros (a day with a clock change has 23 or 25 hours)."""

    unit: Literal["day", "hour"]
    buckets: tuple[Bucket, ...]
    zone: str = "UTC"

    @property
    def sent(self) -> int:
        return sum(b.sent for b in self.buckets)

    @property
    def failed(self) -> int:
        return sum(b.failed for b in self.buckets)


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``zone`` (later than midnight when a clock change skips it)."""
    return datetime.combine(day, time(), zone).astimezone(UTC).astimezone(zone)


def _hour_of(moment: datetime, zone: ZoneInfo) -> datetime:
    """The start (aware UTC) of the local hour holding ``moment`` (an autumn night's two 01:00s differ)."""
    return moment.astimezone(zone).replace(minute=0, second=0, microsecond=0).astimezone(UTC)


def _quarters(first: datetime, last: datetime) -> list[datetime]:
    """Every quarter-hour (aware UTC) from the one holding ``first`` to the one holding ``last``."""
    step = timedelta(seconds=log.QUARTER)
    at = first - timedelta(seconds=first.timestamp() % log.QUARTER)
    quarters = []
    while at <= last:
        quarters.append(at)
        at += step
    return quarters


def activity(app: App, wanted: LogFilter, now: datetime | None = None) -> Activity:
    """Two grouped queries (the matching rows' time span, then counts per UTC quarter-hour and status),
    re-bucketed here into the desk's local days or hours."""
    name = app.settings.digest.timezone
    zone = ZoneInfo(name)
    today = (now or utcnow()).astimezone(zone).date()
    days = [today - timedelta(days=back) for back in range(CHART_DAYS - 1, -1, -1)]
    since = _day_start(days[0], zone).astimezone(UTC)
    span = log.outcome_span(app.engine, wanted, since)
    unit: Literal["day", "hour"] = "hour" if span and span[1] - span[0] < HOURLY_BELOW else "day"
    counts: dict[object, Counter[str]] = {}
    for quarter, status, count in log.outcomes_per_quarter(app.engine, wanted, since):
        key = quarter.astimezone(zone).date() if unit == "day" else _hour_of(quarter, zone)
        counts.setdefault(key, Counter())[status] += count
    starts: dict[object, datetime] = {}
    if span is not None and unit == "hour":
        for quarter in _quarters(*span):
            hour = _hour_of(quarter, zone)
            starts.setdefault(hour, hour.astimezone(zone))
    else:
        starts = {day: _day_start(day, zone) for day in days}
    empty: Counter[str] = Counter()
    return Activity(
        unit,
        tuple(
            Bucket(start, counts.get(key, empty)["sent"], counts.get(key, empty)["failed"])
            for key, start in starts.items()
        ),
        name,
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
    digests, channels = log.digest_slugs(app.engine, 500), log.channels(app.engine)
    if wanted.digest and wanted.digest not in digests:
        if not log.digest_exists(app.engine, wanted.digest):
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
