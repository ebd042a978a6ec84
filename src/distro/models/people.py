"""Who is involved: subscribers, sign-ups, social accounts, desk editors and their sessions, rate limits."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from distro.models.columns import StatusString, UTCDateTime, _when, utcnow
from distro.models.statuses import (
    AccountStatus,
    SubscriberStatus,
)


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


class SocialAccount(SQLModel, table=True):
    """A platform account's stored token (Fernet ciphertext, never clear text) and health."""

    __table_args__ = (sa.UniqueConstraint("platform", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(sa_type=sa.String(20))
    name: str = Field(sa_type=sa.String(50))
    status: AccountStatus = Field(default=AccountStatus.OK, sa_type=StatusString(AccountStatus))
    token: str | None = Field(default=None, sa_type=sa.Text)  # encrypted with DISTRO_TOKEN_KEY
    user_id: str | None = Field(default=None, sa_type=sa.String(100))  # the platform's id for the account
    expires_at: datetime | None = _when()  # the access token's end (None: it does not expire)
    refresh_expires_at: datetime | None = _when()  # the refresh token's end, when there is one (LinkedIn)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Editor(SQLModel, table=True):
    """Someone who may use the editor's desk. Only an argon2 hash of the password is stored."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_type=sa.String(320), unique=True)
    password_hash: str = Field(sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_login_at: datetime | None = _when()
    failed_logins: int = 0  # consecutive; reset by a successful login
    locked_until: datetime | None = _when()  # brute-force lockout, shared by every web process
    # admin (everything), editor (editions, social posts, subscribers) or viewer (reads only); see
    # distro.services.editors.ROLES.
    role: str = Field(default="editor", sa_type=sa.String(20))


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


class UnsubscribeEvent(SQLModel, table=True):
    """One reader leaving through an edition's unsubscribe link (page or RFC 8058 one-click), counted for
    that edition's report. Aggregate by design: no subscriber id, no address; ``edition`` is the slug the
    link carried (``?e=``), ``newsletter`` what was left (None: everything)."""

    __tablename__ = "unsubscribeevent"

    id: int | None = Field(default=None, primary_key=True)
    edition: str = Field(sa_type=sa.String(100), index=True)
    newsletter: str | None = Field(default=None, sa_type=sa.String(40))
    via: str = Field(sa_type=sa.String(20))  # one-click, page
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
