"""Outgoing webhook events: the payload each ``webhook`` delivery sends, stored once per event."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from distro.models.columns import UTCDateTime, utcnow


class WebhookEvent(SQLModel, table=True):
    """One event as it happened (``article.published``, ...), fanned out to one outbox row per webhook.

    ``uid`` is the event's identity (random, or derived from what it reports when the same change could be
    seen twice, e.g. ``edition.sent``): unique, so it is stored once, and part of each delivery's key, which
    is the ``webhook-id`` header. ``body`` is the exact JSON sent, so every retry is byte for byte the
    same. ``email`` is the lower-cased address of the subscriber the event is about (None for the others),
    so forgetting a reader deletes their events too.
    """

    __tablename__ = "webhookevent"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(sa_type=sa.String(120), unique=True)
    event: str = Field(sa_type=sa.String(40))
    body: str = Field(sa_type=sa.Text)
    email: str | None = Field(default=None, sa_type=sa.String(320), index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
