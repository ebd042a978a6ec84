"""The social queue as the editor's desk reads it: every post not yet out, per account, with its length.

A post is shown with the text exactly as its stored request body will send it, measured the way its
platform counts (:data:`distro.compose.social.RULES`). Pending, held and in-flight posts are listed, and
failed ones for :data:`FAILED_DAYS` days so an editor sees what went wrong. Each account says when it
cannot post: a token the platform refused (or one that cannot be refreshed before it ends), and a pause
with its end and its reason, whoever set it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from distro.accounts import configured_accounts
from distro.app import App
from distro.compose.social import RULES, x_thread
from distro.errors import InvalidInput, NotFound
from distro.models import AccountStatus, Article, DeliveryStatus, utcnow
from distro.outbox import worker_of
from distro.platforms import linkedin
from distro.services.desk_clock import local_time
from distro.services.social import editable
from distro.store import deliveries, pauses, social_accounts, social_posts

FAILED_DAYS = 7
MAX_ROWS = 500
SHOWN = (DeliveryStatus.PENDING, DeliveryStatus.HELD, DeliveryStatus.SENDING)
# The body field that carries the post's text, per platform (a Facebook photo post has a caption).
TEXT_FIELDS = ("text", "status", "message", "caption")
PLATFORM_NAMES = {
    "x": "X",
    "facebook": "Facebook",
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "threads": "Threads",
    "linkedin": "LinkedIn",
}
UNITS = {
    "x": "weighted",
    "mastodon": "characters",
    "bluesky": "graphemes",
    "facebook": "characters",
    "threads": "characters (emoji as bytes)",
    "linkedin": "characters (escaped)",
}
NO_LIMIT_SHOWN = {"facebook"}  # 63,206 characters: no editor ever meets it


@dataclass(frozen=True, slots=True)
class QueuedPost:
    """One social delivery row with its post and article, as the desk shows it."""

    delivery_id: int
    channel: str
    platform: str
    account: str
    article_id: int | None  # None: a post an editor wrote (an announcement or a repost)
    title: str  # the article's (a repost: its story's); "" for an announcement
    url: str
    text: str  # what the stored body sends
    length: int  # as the platform counts it
    limit: int
    status: str
    next_attempt_at: datetime
    attempts: int
    last_error: str | None
    lease_owner: str | None
    lease_until: datetime | None
    thread: tuple[str, ...] = ()  # X replies sent after the first post (x.thread)
    written: bool = False  # written by an editor (distro.services.custom_posts), not planned

    @property
    def kind(self) -> str:
        """ "article", "repost" (written, linking to a story) or "announcement"."""
        if not self.written:
            return "article"
        return "repost" if self.title else "announcement"

    @property
    def over_limit(self) -> bool:
        return self.length > self.limit

    @property
    def length_label(self) -> str:
        """ "231/280" (X weighted), "312/500" (Mastodon), "120/300" (Bluesky); Facebook: "312 characters"."""
        if self.platform in NO_LIMIT_SHOWN or self.platform not in RULES:
            return f"{self.length} characters"
        return f"{self.length}/{self.limit}"

    @property
    def label(self) -> str:
        """ "X post of main", for messages to the editor."""
        return f"{PLATFORM_NAMES.get(self.platform, self.platform)} post of {self.account}"

    @property
    def unit(self) -> str:
        return UNITS.get(self.platform, "characters")

    @property
    def editable(self) -> bool:
        return editable(self.status, self.attempts)

    @property
    def safe_url(self) -> str | None:
        """The article's address when it is a web address (a feed could carry anything)."""
        return self.url if self.url.lower().startswith(("https://", "http://")) else None


@dataclass(frozen=True, slots=True)
class AccountQueue:
    platform: str
    account: str
    channel: str
    posts: list[QueuedPost] = field(default_factory=list)
    problem: str | None = None  # why the account cannot post (a refused token), from its stored status
    paused: str | None = None  # "until <time in the desk's zone>: <reason>" while a pause runs

    @property
    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for post in self.posts:
            found[post.status] = found.get(post.status, 0) + 1
        return found


def sent_text(platform: str, body: dict[str, Any], fallback: str) -> str:
    """The text the body carries (``text``, ``status``, ``message`` or ``caption``; LinkedIn's commentary as
    its readers see it)."""
    if platform == "linkedin":
        return linkedin.text_of(body) or fallback
    for name in TEXT_FIELDS:
        value = body.get(name)
        if isinstance(value, str):
            return value
    return fallback


@lru_cache(maxsize=4096)
def _measure(platform: str, text: str) -> int:
    """The platform's count; cached because X's weighted count parses the whole text (milliseconds)."""
    rule = RULES.get(platform)
    return rule.measure(text) if rule else len(text)


def _post(app: App, row: Any) -> QueuedPost:
    rule = RULES.get(row.platform)
    text = sent_text(row.platform, dict(row.body or {}), row.text)
    thread: tuple[str, ...] = ()
    if row.platform == "x" and app.settings.x.thread and row.article_id is not None:
        thread = x_thread(Article(title=row.title, url=row.url, summary=row.summary), text, app.settings)
    return QueuedPost(
        delivery_id=row.id,
        channel=row.channel,
        platform=row.platform,
        account=row.account,
        article_id=row.article_id,
        title=row.title or "",
        url=row.url or "",
        text=text,
        length=_measure(row.platform, text),
        limit=rule.limit(app.settings) if rule else len(text),
        status=row.status,
        next_attempt_at=row.next_attempt_at,
        attempts=row.attempts,
        last_error=row.last_error,
        lease_owner=worker_of(row.lease_owner) if row.lease_owner else None,  # the worker, not the claim
        lease_until=row.lease_until,
        thread=thread,
        written=row.custom_key is not None,
    )


def social_queue(app: App, now: datetime | None = None) -> list[AccountQueue]:
    """Every configured account (in settings order, even when empty), then any other with queued posts."""
    now = now or utcnow()
    since = now - timedelta(days=FAILED_DAYS)
    rows = social_posts.queue(app.engine, waiting=SHOWN, failed_since=since, most=MAX_ROWS)
    stored, running = social_accounts.every(app.engine), pauses.running(app.engine, now=now)
    groups = {
        (a.platform, a.name): AccountQueue(
            a.platform,
            a.name,
            a.channel,
            problem=_problem(stored.get((a.platform, a.name))),
            paused=_paused(app, running.get(a.channel)),
        )
        for a in configured_accounts(app.settings)
    }
    for row in rows:
        group = groups.setdefault(
            (row.platform, row.account), AccountQueue(row.platform, row.account, row.channel)
        )
        group.posts.append(_post(app, row))
    return list(groups.values())


def _problem(row: Any) -> str | None:
    if row is None or row.status == AccountStatus.OK:
        return None
    return row.last_error or f"the account's status is {row.status}"


def _paused(app: App, pause: Any) -> str | None:
    return f"until {local_time(app.settings, pause.until)}: {pause.reason}" if pause is not None else None


def queued_post(app: App, delivery_id: int) -> QueuedPost:
    """The social post behind delivery ``delivery_id``, whatever its state; ValueError naming the problem."""
    row = social_posts.queued(app.engine, delivery_id)
    if row is not None:
        return _post(app, row)
    channel = deliveries.channel_of(app.engine, delivery_id)
    if channel is not None:
        raise InvalidInput(f"delivery {delivery_id} is not a social post (channel {channel})")
    raise NotFound(f"no delivery {delivery_id}; the queue may have changed, reload the page")


# -- the desk's page: filtered, one keyset page at a time (issue 21, item 6) ------------------------------

PAGE_SIZE = 20
STATUSES = ("pending", "held", "sending", "failed")


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which posts the page lists: one status and/or one platform (None: every one)."""

    status: str | None = None
    platform: str | None = None

    @classmethod
    def parse(cls, status: str | None, platform: str | None) -> QueueFilter:
        """From the page's query; InvalidInput naming the values it takes."""
        status, platform = (status or "").strip() or None, (platform or "").strip() or None
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
        if platform is not None and platform not in PLATFORM_NAMES:
            raise InvalidInput(f"unknown platform {platform!r}; use one of {', '.join(PLATFORM_NAMES)}")
        return cls(status, platform)

    def query(self, **cursor: str) -> dict[str, str]:
        """The page's query string fields for this filter (and a cursor)."""
        fields = {"status": self.status or "", "platform": self.platform or "", **cursor}
        return {name: value for name, value in fields.items() if value}


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """One account's line above the list: its counts per status (whatever the filter) and why it cannot
    post, if it cannot."""

    platform: str
    account: str
    channel: str
    counts: dict[str, int]
    problem: str | None = None
    paused_until: datetime | None = None
    pause_reason: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class QueuePage:
    accounts: list[AccountSummary]
    posts: list[QueuedPost]
    wanted: QueueFilter
    matching: int  # posts the filter keeps, on every page
    earlier: str | None  # the cursor of the page before this one (None: this is the first)
    later: str | None  # the cursor of the page after this one (None: this is the last)


def cursor_of(post: QueuedPost) -> str:
    return f"{post.next_attempt_at.astimezone(UTC):%Y%m%dT%H%M%S%f}-{post.delivery_id}"


def parse_cursor(raw: str | None) -> tuple[datetime, int] | None:
    if not raw:
        return None
    at, _, delivery_id = raw.partition("-")
    try:
        return datetime.strptime(at, "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC), int(delivery_id)
    except ValueError:
        raise InvalidInput("that page of the queue does not exist; start again from the first page") from None


def _scope(wanted: QueueFilter, now: datetime) -> tuple[tuple[str, ...], datetime | None]:
    """(waiting statuses, failed since) for the filter: failed posts are those of the last FAILED_DAYS."""
    since = now - timedelta(days=FAILED_DAYS)
    if wanted.status == DeliveryStatus.FAILED:
        return (), since
    if wanted.status is not None:
        return (wanted.status,), None
    return tuple(SHOWN), since


def queue_page(
    app: App,
    wanted: QueueFilter,
    *,
    after: str | None = None,
    before: str | None = None,
    now: datetime | None = None,
    size: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the queue in send order, from a cursor (keyset: no page reads the ones before it)."""
    now = now or utcnow()
    waiting, failed_since = _scope(wanted, now)
    rows = list(
        social_posts.queue(
            app.engine,
            waiting=waiting,
            failed_since=failed_since,
            most=size + 1,
            platform=wanted.platform,
            after=parse_cursor(after),
            before=parse_cursor(before),
        )
    )
    if before:
        more_earlier, more_later = len(rows) > size, True
        rows = rows[-size:]
    else:
        more_earlier, more_later = after is not None, len(rows) > size
        rows = rows[:size]
    posts = [_post(app, row) for row in rows]
    accounts = _summaries(app, now)
    matching = sum(
        count
        for a in accounts
        if wanted.platform in (None, a.platform)
        for status, count in a.counts.items()
        if wanted.status in (None, status)
    )
    return QueuePage(
        accounts,
        posts,
        wanted,
        matching,
        earlier=cursor_of(posts[0]) if posts and more_earlier else None,
        later=cursor_of(posts[-1]) if posts and more_later else None,
    )


def _summaries(app: App, now: datetime) -> list[AccountSummary]:
    """Every configured account (settings order, even when empty), then any other with queued posts."""
    counts = social_posts.queue_counts(
        app.engine, waiting=SHOWN, failed_since=now - timedelta(days=FAILED_DAYS)
    )
    stored, running = social_accounts.every(app.engine), pauses.running(app.engine, now=now)
    keys = [(a.platform, a.name, a.channel) for a in configured_accounts(app.settings)]
    keys += [key for key in counts if key not in keys]
    summaries = []
    for platform, account, channel in keys:
        pause = running.get(channel)
        summaries.append(
            AccountSummary(
                platform,
                account,
                channel,
                {s: n for s in STATUSES if (n := counts.get((platform, account, channel), {}).get(s))},
                problem=_problem(stored.get((platform, account))),
                paused_until=pause.until if pause is not None else None,
                pause_reason=pause.reason if pause is not None else "",
            )
        )
    return summaries
