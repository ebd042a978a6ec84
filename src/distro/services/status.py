"""``distro status``: what an operator checks first — sources, next runs, queue depth, recent failures."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from distro.app import App
from distro.models import Delivery, DeliveryAttempt, DeliveryStatus, Source, utcnow
from distro.urls import strip_credentials, without_credentials

FAILED_OUTCOMES = ("temporary", "rate_limited", "permanent", "hard_bounce", "channel_down", "abandoned")


@dataclass
class ChannelStatus:
    channel: str
    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    failed_attempts_24h: int = 0
    oldest_pending: datetime | None = None


@dataclass
class Status:
    sources: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    channels: list[ChannelStatus] = field(default_factory=list)


def _jobs(app: App) -> list[dict[str, Any]]:
    """Next runs from the scheduler's job store, read without starting a scheduler."""
    if not sa.inspect(app.engine).has_table("apscheduler_jobs"):
        return []
    with app.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id, next_run_time, job_state FROM apscheduler_jobs ORDER BY id")
        )
        jobs = []
        for job_id, next_run, state in rows:
            trigger = ""
            try:
                trigger = str(pickle.loads(state)["trigger"])  # written by our own scheduler only
            except Exception:  # an unreadable job must not hide the rest of the status
                trigger = "?"
            when = datetime.fromtimestamp(next_run, UTC) if next_run is not None else None
            jobs.append({"job": job_id, "trigger": trigger, "next_run": when})
    return jobs


def collect(app: App, now: datetime | None = None) -> Status:
    now = now or utcnow()
    status = Status(jobs=_jobs(app))
    with app.engine.connect() as connection:
        for source in connection.execute(sa.select(Source).order_by(Source.name)):
            status.sources.append(
                {
                    "source": source.name,
                    "url": without_credentials(source.url),
                    "last_poll": source.last_polled_at,
                    "next_poll": source.next_poll_at,
                    "last_error": strip_credentials(source.last_error) if source.last_error else None,
                }
            )
        channels: dict[str, ChannelStatus] = {}
        counts = sa.select(Delivery.channel, Delivery.status, sa.func.count()).group_by(
            Delivery.channel, Delivery.status
        )
        for channel, state, count in connection.execute(counts):
            entry = channels.setdefault(channel, ChannelStatus(channel))
            if state in {s.value for s in DeliveryStatus}:
                setattr(entry, state, count)
        oldest = (
            sa.select(Delivery.channel, sa.func.min(Delivery.created_at))
            .where(Delivery.status == DeliveryStatus.PENDING)
            .group_by(Delivery.channel)
        )
        for channel, created in connection.execute(oldest):
            channels.setdefault(channel, ChannelStatus(channel)).oldest_pending = created
        recent = (
            sa.select(Delivery.channel, sa.func.count())
            .join(DeliveryAttempt, DeliveryAttempt.delivery_id == Delivery.id)
            .where(
                DeliveryAttempt.outcome.in_(FAILED_OUTCOMES),
                DeliveryAttempt.started_at >= now - timedelta(hours=24),
            )
            .group_by(Delivery.channel)
        )
        for channel, count in connection.execute(recent):
            channels.setdefault(channel, ChannelStatus(channel)).failed_attempts_24h = count
    status.channels = sorted(channels.values(), key=lambda c: c.channel)
    return status
