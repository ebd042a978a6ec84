"""What is sent: outbox rows, their attempts, channel pauses and the suppression list."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from distro.models.columns import StatusString, UTCDateTime, _when, utcnow
from distro.models.statuses import (
    AttemptOutcome,
    DeliveryStatus,
)


class Delivery(SQLModel, table=True):
    """The outbox row: exists before anything leaves, carries the outcome afterwards."""

    # The claim's order within one channel and state, so a claim reads its batch off the index (issue 17).
    __table_args__ = (sa.Index("ix_delivery_claim", "channel", "status", "next_attempt_at", "id"),)

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


class Suppression(SQLModel, table=True):
    """An address nothing is sent to, whoever it belongs to; consulted at enqueue and again at send.

    ``email`` is stored lower-cased so the lookup ignores case (the list is about mailboxes, not rows).
    """

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_type=sa.String(320), unique=True)
    reason: str = Field(sa_type=sa.String(20))
    detail: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class BounceEvent(SQLModel, table=True):
    """One bounce or complaint as it came back (SMTP refusal, DSN, ARF report, ESP webhook), and what it did.

    ``report_key`` (the report's Message-ID or the provider's event id, with the address) is unique, so a
    report read twice (an IMAP fetch retried, a webhook redelivered) counts once. ``delivery_id`` and
    ``subscriber_id`` are plain ids, not foreign keys: the event stays true after a delivery row is gone,
    and forgetting a subscriber deletes their events by address (:mod:`distro.services.privacy`).
    """

    __tablename__ = "bounceevent"
    __table_args__ = (sa.Index("ix_bounceevent_email_at", "email", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_type=sa.String(320))  # lower-cased, as on the suppression list
    kind: str = Field(sa_type=sa.String(20))  # hard, soft, complaint
    status: str | None = Field(default=None, sa_type=sa.String(20))  # enhanced status code, e.g. 5.1.1
    diagnostic: str | None = Field(default=None, sa_type=sa.Text)
    source: str = Field(sa_type=sa.String(20))  # smtp, dsn, arf, provider
    provider: str | None = Field(default=None, sa_type=sa.String(20))
    delivery_id: int | None = Field(default=None, index=True)
    subscriber_id: int | None = Field(default=None, index=True)
    action: str = Field(sa_type=sa.String(40))  # what it did: suppressed, counted, unsubscribed, ...
    report_key: str | None = Field(default=None, sa_type=sa.String(300), unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
