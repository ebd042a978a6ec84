"""Outbox rows -> channels, and the delivery log as editors read it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from distro.app import App
from distro.db import session_scope
from distro.dispatch import DispatchReport, dispatch_channel
from distro.models import Delivery, Digest
from distro.services.messages import MessageBuilder


def dispatch(
    app: App, channels: Sequence[str] | None = None, *, stop: Any = None
) -> dict[str, DispatchReport]:
    """Send everything due on the given channels (default: all enabled); close each channel after."""
    builder = MessageBuilder(app)  # one per run: caches each digest's prepared message
    reports: dict[str, DispatchReport] = {}
    for name in channels or app.enabled_channels():
        channel = app.channel_factory(name)
        try:
            reports[name] = dispatch_channel(
                engine=app.engine,
                channel=channel,
                build=builder,
                settings=app.settings.dispatch,
                worker=app.worker_id,
                stop=stop,
            )
        finally:
            channel.close()
    return reports


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


def delivery_log(
    app: App,
    *,
    channel: str | None = None,
    status: str | None = None,
    digest: str | None = None,
    limit: int = 200,
) -> list[LogEntry]:
    query = (
        sa.select(Delivery, Digest.slug)
        .outerjoin(Digest, Digest.id == Delivery.digest_id)  # type: ignore[arg-type]
        .order_by(Delivery.id)  # type: ignore[arg-type]
        .limit(limit)
    )
    if channel:
        query = query.where(Delivery.channel == channel)  # type: ignore[arg-type]
    if status:
        query = query.where(Delivery.status == status)  # type: ignore[arg-type]
    if digest:
        query = query.where(Digest.slug == digest)  # type: ignore[arg-type]
    with session_scope(app.engine) as session:
        return [
            LogEntry(
                d.id or 0,
                d.channel,
                d.recipient,
                d.status,
                d.attempts,
                d.provider_id,
                d.last_error,
                slug,
                d.updated_at,
                d.sent_at,
            )
            for d, slug in session.execute(query)
        ]
