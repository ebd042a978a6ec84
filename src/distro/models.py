"""Tables and status enums. Each stage writes rows the next stage reads (see DESIGN.md).

All datetimes are timezone-aware UTC in Python and stored as naive UTC, so SQLite and PostgreSQL behave
the same. Status columns are their enums in Python and plain strings in the database (not database enums,
so adding a state needs no type migration); :mod:`distro.store.transitions` lists the legal changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the database."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class StatusString(TypeDecorator[Any]):
    """A status column: its enum in Python, a plain string in the database (no type migration per state).

    A stored value the enum does not know (a state added by a newer version) is read as the plain string.
    """

    impl = sa.String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 20) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        try:
            return self.enum(value)
        except ValueError:
            return value


def _when(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class SubscriberStatus(StrEnum):
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"


class DigestStatus(StrEnum):
    COMPOSED = "composed"  # rendered and validated, no delivery rows yet
    QUEUED = "queued"  # one delivery row per recipient exists


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its first or next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by a worker until lease_until
    SENT = "sent"
    FAILED = "failed"  # permanent failure or attempts exhausted; last_error says why
    SUPPRESSED = "suppressed"  # recipient unsubscribed before it went out
    HELD = "held"  # an editor holds the post back; never claimed until released


class AttemptOutcome(StrEnum):
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    TEMPORARY = "temporary"
    RATE_LIMITED = "rate_limited"
    PERMANENT = "permanent"
    HARD_BOUNCE = "hard_bounce"  # permanent: the receiving server refused the address (RecipientRejected)
    CHANNEL_DOWN = "channel_down"  # the channel could not work; the message stays queued
    ABANDONED = "abandoned"  # the worker vanished; its lease expired before it reported
    SUPPRESSED = "suppressed"


class Channel(StrEnum):
    EMAIL = "email"
    X = "x"
    FACEBOOK = "facebook"


class Source(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=sa.String(200), unique=True)
    kind: str = Field(default="feed", sa_type=sa.String(20))
    url: str = Field(sa_type=sa.Text)
    etag: str | None = Field(default=None, sa_type=sa.Text)
    last_modified: str | None = Field(default=None, sa_type=sa.Text)
    last_polled_at: datetime | None = _when()
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    next_poll_at: datetime | None = _when()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # When the first successful poll stored the back catalogue; None until then (see Article.backlog).
    seeded_at: datetime | None = _when()
    # The configured URL that ``url`` stems from: ``url`` differs from it after a permanent redirect, and
    # polls follow ``url`` until the editor changes the configured URL.
    configured_url: str | None = Field(default=None, sa_type=sa.Text)


class Article(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    source_id: int | None = Field(default=None, foreign_key="source.id", index=True)
    guid: str | None = Field(default=None, sa_type=sa.String(1000), unique=True)
    url: str = Field(sa_type=sa.String(2000), unique=True)
    title: str = Field(sa_type=sa.Text)
    summary: str = Field(default="", sa_type=sa.Text)  # plain text, sanitised
    author: str | None = Field(default=None, sa_type=sa.String(300))
    section: str | None = Field(default=None, sa_type=sa.String(200), index=True)
    image_url: str | None = Field(default=None, sa_type=sa.String(2000))
    published_at: datetime | None = _when(index=True)
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # When the source last changed the version stored (its own updated_at, or the webhook's signed send
    # time): an older version arriving later (a replay, a retry overtaken) never overwrites a newer one.
    source_modified_at: datetime | None = _when()
    # True for the back catalogue found on a source's first poll: recorded as seen, never sent.
    # Digest and social selection must add ``Article.backlog.is_(False)`` (distro.store.articles.FRESH).
    backlog: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class Subscriber(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_type=sa.String(320), unique=True)
    name: str | None = Field(default=None, sa_type=sa.String(200))
    status: SubscriberStatus = Field(
        default=SubscriberStatus.ACTIVE, sa_type=StatusString(SubscriberStatus), index=True
    )
    sections: list[str] | None = Field(default=None, sa_type=sa.JSON)  # None means every section
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    unsubscribed_at: datetime | None = _when()
    hard_bounces: int = 0  # 5xx refusals at RCPT; at dispatch.hard_bounce_limit the address is suppressed
    paused_until: datetime | None = _when()  # no digest is queued for them before this time
    # Slug prefixes of the newsletters they chose; None: those with subscribe_by_default (the main digest).
    newsletters: list[str] | None = Field(default=None, sa_type=sa.JSON)


class Digest(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=sa.String(100), unique=True)
    newsletter: str = Field(default="weekly", sa_type=sa.String(40), index=True)  # its slug prefix
    status: DigestStatus = Field(default=DigestStatus.COMPOSED, sa_type=StatusString(DigestStatus))
    subject: str = Field(sa_type=sa.Text)
    window_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    window_end: datetime = Field(sa_type=UTCDateTime, nullable=False)
    article_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    html: str = Field(sa_type=sa.Text)  # as a subscriber sees it, with personal slots unfilled
    text: str = Field(sa_type=sa.Text)
    message_template: str = Field(sa_type=sa.Text)  # the RFC 5322 message with slot markers, ASCII
    recipients: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    queued_at: datetime | None = _when()


class SocialPost(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("article_id", "platform", "account"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    platform: str = Field(sa_type=sa.String(20))
    account: str = Field(sa_type=sa.String(100))
    text: str = Field(sa_type=sa.Text)
    body: dict[str, Any] = Field(sa_type=sa.JSON)  # the API request body, exactly as sent
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Delivery(SQLModel, table=True):
    """The outbox row: exists before anything leaves, carries the outcome afterwards."""

    __table_args__ = (sa.Index("ix_delivery_claim", "channel", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_type=sa.String(300), unique=True)  # idempotency key
    channel: str = Field(sa_type=sa.String(20))
    recipient: str = Field(sa_type=sa.String(320))  # address, or platform account
    digest_id: int | None = Field(default=None, foreign_key="digest.id", index=True)
    subscriber_id: int | None = Field(default=None, foreign_key="subscriber.id", index=True)
    social_post_id: int | None = Field(default=None, foreign_key="socialpost.id", index=True)
    status: DeliveryStatus = Field(default=DeliveryStatus.PENDING, sa_type=StatusString(DeliveryStatus))
    attempts: int = 0
    provider_id: str | None = Field(default=None, sa_type=sa.String(300))
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    lease_owner: str | None = Field(default=None, sa_type=sa.String(200))
    lease_until: datetime | None = _when()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = _when()


class ChannelPause(SQLModel, table=True):
    """A channel (an account, for social) that sends nothing until ``until``: the provider said so.

    Kept in the database so every worker process honours it, not only the one that was told.
    """

    __tablename__ = "channelpause"

    channel: str = Field(primary_key=True, sa_type=sa.String(80))
    until: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reason: str = Field(sa_type=sa.Text)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class DeliveryAttempt(SQLModel, table=True):
    """One row per try, written when the try starts, so a crash still leaves a trace."""

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    number: int
    worker: str = Field(sa_type=sa.String(200))
    outcome: str = Field(default=AttemptOutcome.IN_FLIGHT, sa_type=sa.String(20))
    provider_id: str | None = Field(default=None, sa_type=sa.String(300))
    error: str | None = Field(default=None, sa_type=sa.Text)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    finished_at: datetime | None = _when()


class DigestEdit(SQLModel, table=True):
    """The editor's choices for one week's digest (by slug), stored before composing; None = settings."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=sa.String(100), unique=True)
    intro: str | None = Field(default=None, sa_type=sa.Text)  # Markdown, rendered to safe HTML
    pinned_article_id: int | None = None
    excluded_article_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    max_stories: int | None = None
    window_days: int | None = None  # None: since the previous digest (else the last N days)
    sections: list[str] | None = Field(default=None, sa_type=sa.JSON)  # section order
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # Send by hand at this time instead of at the newsletter's cron time (distro.services.digest_schedule).
    send_at: datetime | None = _when()


class DigestVariant(SQLModel, table=True):
    """The digest composed for one choice of sections, so personalisation stays byte substitution."""

    __table_args__ = (sa.UniqueConstraint("digest_id", "sections_key"),)

    id: int | None = Field(default=None, primary_key=True)
    digest_id: int = Field(foreign_key="digest.id", index=True)
    sections_key: str = Field(sa_type=sa.String(1000))  # sorted casefolded names joined by "|"
    html: str = Field(sa_type=sa.Text)
    text: str = Field(sa_type=sa.Text)
    message_template: str = Field(sa_type=sa.Text)


class WebSubSubscription(SQLModel, table=True):
    """One WebSub subscription per feed (topic): asked of its hub, verified by the hub, renewed before expiry.

    ``hub.secret`` is not stored: it is derived from the signing key and the topic when needed. The
    callback URL carries a secret derived from the signing key and ``callback_nonce`` (random per
    subscription), so no one but the hub can reach it; rows from before 0015 have no nonce and keep their
    old ``/websub/<id>`` callback until their next renewal. ``awaiting`` is the ``hub.mode`` of the request
    we sent and the hub has not yet verified: only that verification is answered (and its lease taken).
    """

    id: int | None = Field(default=None, primary_key=True)
    source_name: str = Field(sa_type=sa.String(200), index=True)
    topic: str = Field(sa_type=sa.String(2000), unique=True)
    hub: str = Field(sa_type=sa.String(2000))
    state: str = Field(default="pending", sa_type=sa.String(20))  # pending, active, denied, failed
    lease_seconds: int | None = None
    expires_at: datetime | None = _when()
    requested_at: datetime | None = _when()
    verified_at: datetime | None = _when()
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    callback_nonce: str | None = Field(default=None, sa_type=sa.String(64))
    awaiting: str | None = Field(default=None, sa_type=sa.String(20))


class SeenWebhookSignature(SQLModel, table=True):
    """A CMS webhook signature already accepted, kept (as a SHA-256 of it) until its timestamp's window
    ends, so a captured request replayed inside ``web.webhook_max_age_seconds`` is refused."""

    digest: str = Field(sa_type=sa.String(64), primary_key=True)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class AccountStatus(StrEnum):
    OK = "ok"
    NEEDS_REAUTH = "needs_reauth"  # the platform refused the token (X 401, Facebook 190); posts wait


class SocialAccount(SQLModel, table=True):
    """A platform account's stored token (Fernet ciphertext, never clear text) and health."""

    __table_args__ = (sa.UniqueConstraint("platform", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(sa_type=sa.String(20))
    name: str = Field(sa_type=sa.String(50))
    status: AccountStatus = Field(default=AccountStatus.OK, sa_type=StatusString(AccountStatus))
    token: str | None = Field(default=None, sa_type=sa.Text)  # encrypted with DISTRO_TOKEN_KEY
    user_id: str | None = Field(default=None, sa_type=sa.String(100))  # the platform's id for the account
    expires_at: datetime | None = _when()
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class SuppressionReason(StrEnum):
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    MANUAL = "manual"
    UNSUBSCRIBED = "unsubscribed"


class Suppression(SQLModel, table=True):
    """An address nothing is sent to, whoever it belongs to; consulted at enqueue and again at send.

    ``email`` is stored lower-cased so the lookup ignores case (the list is about mailboxes, not rows).
    """

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_type=sa.String(320), unique=True)
    reason: str = Field(sa_type=sa.String(20))
    detail: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Signup(SQLModel, table=True):
    """A sign-up (or an address change, when ``subscriber_id`` is set) waiting for its double opt-in click.

    Expires at ``expires_at``; nothing about the address is kept once it is confirmed or purged.
    """

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_type=sa.String(320), index=True)
    name: str | None = Field(default=None, sa_type=sa.String(200))
    sections: list[str] | None = Field(default=None, sa_type=sa.JSON)
    newsletters: list[str] | None = Field(default=None, sa_type=sa.JSON)
    subscriber_id: int | None = Field(default=None, foreign_key="subscriber.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # An address change: when the subscriber's current address approved it (only then is the new address
    # sent its confirmation link; see distro.services.signup).
    approved_at: datetime | None = _when()


class OneOffMessage(SQLModel, table=True):
    """A transactional email (confirmation, welcome), rendered whole; its outbox row's key is ``msg:<id>``."""

    id: int | None = Field(default=None, primary_key=True)
    recipient: str = Field(sa_type=sa.String(320), index=True)
    data: str = Field(sa_type=sa.Text)  # the RFC 5322 message, ASCII
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Editor(SQLModel, table=True):
    """Someone who may use the editor's desk. Only an argon2 hash of the password is stored."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_type=sa.String(320), unique=True)
    password_hash: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_login_at: datetime | None = _when()
    failed_logins: int = 0  # consecutive; reset by a successful login
    locked_until: datetime | None = _when()  # brute-force lockout, shared by every web process


class SignInClient(SQLModel, table=True):
    """One client's desk sign-in attempts at one address, known or not: the per-client lockout.

    Only SHA-256 digests of the address as typed and of the client IP are stored (a password typed into the
    address field never lands here in clear). ``failures`` counts the checked attempts since the last
    success, each counted before its password is checked (:mod:`distro.services.editors`).
    """

    address_hash: str = Field(sa_type=sa.String(64), primary_key=True)
    client_hash: str = Field(sa_type=sa.String(64), primary_key=True)
    failures: int = 0
    last_attempt_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    locked_until: datetime | None = _when()


class EditorSession(SQLModel, table=True):
    """A signed-in desk session. The cookie holds a random token; only its SHA-256 is stored here."""

    id: str = Field(sa_type=sa.String(64), primary_key=True)  # sha256 hex of the cookie's token
    editor_id: int = Field(foreign_key="editor.id", index=True)
    csrf_token: str = Field(sa_type=sa.String(64))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class RateLimitEvent(SQLModel, table=True):
    """One allowed event of a rate limit (sign-ups, address changes, desk sign-ins), counted by every web
    process alike (:mod:`distro.services.limits`). ``key_hash`` is the SHA-256 of the limit's key: the
    address or IP it names is never stored. A row is purged once ``expires_at`` (its window) has passed."""

    __tablename__ = "ratelimitevent"
    __table_args__ = (sa.Index("ix_ratelimitevent_key_at", "key_hash", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(sa_type=sa.String(64))
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
