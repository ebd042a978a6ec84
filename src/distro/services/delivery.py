"""Outbox rows -> channels (the delivery log as editors read it is :mod:`distro.services.delivery_log`).

Each channel is sent through a pool of ``dispatch.workers_per_channel`` instances sharing one throttle;
addresses on the suppression list are settled as ``suppressed`` before anything is built or sent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from distro.app import App
from distro.channels.base import Channel
from distro.dispatch import Builder, DispatchReport, Suppressed, dispatch_channel
from distro.errors import ConfigError
from distro.outbox import Claimed
from distro.progress import Ticker
from distro.services.delivery_log import LogEntry as LogEntry  # the log lives there; kept importable
from distro.services.delivery_log import delivery_log as delivery_log
from distro.services.messages import MessageBuilder
from distro.services.suppression import suppression_reasons
from distro.settings import DispatchSettings
from distro.throttle import Throttle

log = logging.getLogger(__name__)


@dataclass
class Senders:
    """One channel's pool of instances (each with its own connection) and the throttle they share."""

    name: str
    channels: list[Channel[Any]]
    throttle: Throttle

    def close(self) -> None:
        for channel in self.channels:
            try:
                channel.close()
            except Exception:  # closing is best effort: the messages are recorded already
                log.warning("closing a %s channel failed", self.name, exc_info=True)


def check_dispatch_settings(settings: DispatchSettings) -> None:
    """Refuse settings under which a throttled batch outlives its lease (another worker would resend it)."""
    rate = settings.slowest_rate
    if rate is not None and settings.batch_size / rate > settings.lease_seconds / 2:
        raise ConfigError(
            f"dispatch.batch_size ({settings.batch_size}) at {rate} messages per second takes longer "
            f"than half of dispatch.lease_seconds ({settings.lease_seconds}); lower batch_size or raise "
            "lease_seconds"
        )


def open_senders(app: App, name: str) -> Senders:
    """``dispatch.workers_per_channel`` instances of channel ``name`` and its throttle."""
    settings = app.settings.dispatch
    check_dispatch_settings(settings)
    channels: list[Channel[Any]] = []
    try:
        for _ in range(settings.workers_per_channel):
            channels.append(app.channel_factory(name))
    except BaseException:
        Senders(name, channels, Throttle()).close()
        raise
    return Senders(name, channels, Throttle(settings.max_per_second, settings.max_per_second_per_domain))


def suppressing(engine: Engine, build: Builder) -> Builder:
    """``build``, but email rows whose address is on the suppression list become :class:`Suppressed`
    without being built, so they never reach the channel."""

    def built(batch: Sequence[Claimed]) -> Mapping[int, Any]:
        blocked = suppression_reasons(engine, {c.id: c.recipient for c in batch if c.channel == "email"})
        messages = dict(build([c for c in batch if c.id not in blocked])) if len(blocked) < len(batch) else {}
        messages.update({delivery_id: Suppressed(reason) for delivery_id, reason in blocked.items()})
        return messages

    return built


def dispatch_with(
    app: App,
    senders: Mapping[str, Senders],
    *,
    stop: threading.Event | None = None,
    progress: Ticker | None = None,
) -> dict[str, DispatchReport]:
    """One pass over open channels: send what is due now on each."""
    build = suppressing(app.engine, MessageBuilder(app))  # one per pass: caches each digest's message
    reports: dict[str, DispatchReport] = {}
    for name, pool in senders.items():
        if stop is not None and stop.is_set():
            break
        reports[name] = dispatch_channel(
            engine=app.engine,
            channel=pool.channels,
            build=build,
            settings=app.settings.dispatch,
            worker=app.worker_id,
            stop=stop,
            throttle=pool.throttle,
            progress=progress,
        )
    return reports


def dispatch(
    app: App,
    channels: Sequence[str] | None = None,
    *,
    stop: threading.Event | None = None,
    progress: Ticker | None = None,
) -> dict[str, DispatchReport]:
    """Send everything due on the given channels (default: all enabled); close each channel after."""
    reports: dict[str, DispatchReport] = {}
    for name in channels or app.enabled_channels():
        senders = open_senders(app, name)
        try:
            reports.update(dispatch_with(app, {name: senders}, stop=stop, progress=progress))
        finally:
            senders.close()
    return reports
