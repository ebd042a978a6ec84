"""``distro status``: what an operator checks first — sources, next runs, queue depth, recent failures."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from distro.app import App
from distro.models import DeliveryStatus, utcnow
from distro.store import deliveries, ping, scheduler_jobs
from distro.store import sources as store_sources
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


def stored_jobs(app: App) -> list[dict[str, Any]]:
    """Next runs from the scheduler's job store, read without starting a scheduler."""
    jobs = []
    for job_id, next_run, state in scheduler_jobs.stored(app.engine):
        try:
            trigger = str(pickle.loads(state)["trigger"])  # written by our own scheduler only
        except Exception:  # an unreadable job must not hide the rest of the status
            trigger = "?"
        when = datetime.fromtimestamp(next_run, UTC) if next_run is not None else None
        jobs.append({"job": job_id, "trigger": trigger, "next_run": when})
    return jobs


def database_down(app: App) -> str | None:
    """None when the database answers, else the kind of failure (never the URL or its password)."""
    try:
        ping(app.engine)
    except Exception as exc:  # any failure means "not healthy"
        return type(exc).__name__
    return None


def collect(app: App, now: datetime | None = None) -> Status:
    now = now or utcnow()
    status = Status(jobs=stored_jobs(app))
    for source in store_sources.every(app.engine):
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
    known = {s.value for s in DeliveryStatus}
    for channel, by_state in deliveries.counts(app.engine).items():
        entry = channels.setdefault(channel, ChannelStatus(channel))
        for state, count in by_state.items():
            if state in known:
                setattr(entry, str(state), count)
    for channel, created in deliveries.oldest_pending(app.engine).items():
        channels.setdefault(channel, ChannelStatus(channel)).oldest_pending = created
    day_ago = now - timedelta(hours=24)
    for channel, count in deliveries.attempts_since(app.engine, day_ago, FAILED_OUTCOMES).items():
        channels.setdefault(channel, ChannelStatus(channel)).failed_attempts_24h = count
    status.channels = sorted(channels.values(), key=lambda c: c.channel)
    return status


@dataclass(frozen=True, slots=True)
class Latency:
    """One channel's attempts finished in the window: how many, their total seconds from claim to
    outcome, and how many took at most each bound (cumulative, as Prometheus buckets are)."""

    channel: str
    count: int
    total_seconds: float
    within: list[int]


@dataclass(frozen=True, slots=True)
class Metrics:
    """What ``/metrics`` reports, read at scrape time (so every worker process is counted)."""

    deliveries: dict[str, dict[str, int]]  # by channel, then status
    failing_sources: set[str]  # of the configured sources named, those whose last poll failed
    latency: list[Latency]


def read_metrics(app: App, sources: list[str], *, since: datetime, bounds: Sequence[float]) -> Metrics:
    """Delivery counts, failing sources among ``sources`` and send latency of attempts since ``since``."""
    latency = [Latency(*row) for row in deliveries.latency(app.engine, since, bounds)]
    return Metrics(deliveries.counts(app.engine), store_sources.failing(app.engine, sources), latency)
