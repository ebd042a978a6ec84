"""The dispatch loop: claim -> build the wire message -> channel.send -> record, per channel.

It knows channels only through :class:`~distro.channels.base.Channel` and messages only through a
:class:`Builder`, so SMTP, OAuth and templates stay out of it. A channel that fails
``pause_after_errors`` times in a row is paused for the rest of the run: its claimed rows go back to the
queue untouched instead of burning through the list during an outage.

A pool of channel instances (``dispatch.workers_per_channel``) sends one batch from several threads; a
:class:`~distro.throttle.Throttle` paces them. When ``stop`` is set, the messages in flight finish and
are recorded, and the rest of the batch is released without counting an attempt. A
:class:`~distro.errors.RecipientRejected` is recorded as a hard bounce (:mod:`distro.services.suppression`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from distro import outbox
from distro.channels.base import Channel
from distro.errors import (
    ChannelFailure,
    DeliveryError,
    PermanentFailure,
    RateLimited,
    RecipientRejected,
    TemporaryFailure,
)
from distro.models import AttemptOutcome, utcnow
from distro.outbox import Claimed, Outcome
from distro.progress import Ticker
from distro.settings import DispatchSettings
from distro.throttle import Throttle

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Suppressed:
    """The row must not be sent (recipient unsubscribed, post withdrawn); ``reason`` goes in the log."""

    reason: str


class Builder(Protocol):
    def __call__(self, batch: Sequence[Claimed]) -> Mapping[int, Any]:
        """Map each claimed row id to its wire message, a :class:`Suppressed`, or a DeliveryError."""
        ...


@dataclass
class DispatchReport:
    sent: int = 0
    temporary: int = 0
    permanent: int = 0
    suppressed: int = 0
    paused: list[str] = field(default_factory=list)

    def add(self, other: DispatchReport) -> None:
        self.sent += other.sent
        self.temporary += other.temporary
        self.permanent += other.permanent
        self.suppressed += other.suppressed
        self.paused += other.paused


def _attempt(channel: Channel[Any], claimed: Claimed, message: Any) -> Outcome:
    if isinstance(message, Suppressed):
        return Outcome(claimed, AttemptOutcome.SUPPRESSED, error=message.reason)
    if message is None:
        message = PermanentFailure(f"nothing to send for delivery {claimed.key}: its content is gone")
    try:
        if isinstance(message, DeliveryError):
            raise message
        receipt = channel.send(message)
    except ChannelFailure as exc:
        return Outcome(claimed, AttemptOutcome.CHANNEL_DOWN, error=str(exc), retry_after=exc.retry_after)
    except RateLimited as exc:
        return Outcome(claimed, AttemptOutcome.RATE_LIMITED, error=str(exc), retry_after=exc.retry_after)
    except TemporaryFailure as exc:
        return Outcome(claimed, AttemptOutcome.TEMPORARY, error=str(exc), retry_after=exc.retry_after)
    except RecipientRejected as exc:
        return Outcome(claimed, AttemptOutcome.PERMANENT, error=str(exc), hard_bounce=True)
    except PermanentFailure as exc:
        return Outcome(claimed, AttemptOutcome.PERMANENT, error=str(exc))
    except Exception as exc:  # a bug or an unexpected library error: keep the row, retry later
        log.exception("channel %s raised unexpectedly for delivery %s", channel.name, claimed.id)
        return Outcome(claimed, AttemptOutcome.TEMPORARY, error=f"unexpected {type(exc).__name__}: {exc}")
    return Outcome(claimed, AttemptOutcome.SENT, provider_id=receipt.provider_id, finished_at=utcnow())


def dispatch_channel(
    *,
    engine: Engine,
    channel: Channel[Any] | Sequence[Channel[Any]],
    build: Builder,
    settings: DispatchSettings,
    worker: str,
    stop: threading.Event | None = None,
    throttle: Throttle | None = None,
    progress: Ticker | None = None,
    only: Sequence[int] | None = None,
) -> DispatchReport:
    """Send every row of ``channel`` that is due now (or only the rows ``only`` names); return what happened.

    Given several instances of one channel (a pool), each sends from its own thread and they share each
    claimed batch; claiming and recording stay in this thread, one transaction each, so SQLite's single
    writer is never contended by the senders and a pool adds no database connections.
    """
    channels = [channel] if not isinstance(channel, Sequence) else list(channel)
    if not channels:
        raise ValueError("dispatch_channel needs at least one channel")
    name = channels[0].name
    report = DispatchReport()
    started = utcnow()
    stop = stop or threading.Event()
    pool = ThreadPoolExecutor(len(channels), thread_name_prefix=f"send-{name}") if len(channels) > 1 else None
    failures = _Failures(settings.pause_after_errors)
    try:
        while not stop.is_set():
            batch = outbox.claim(
                engine,
                channel=name,
                worker=worker,
                limit=settings.batch_size,
                lease_seconds=settings.lease_seconds,
                due_before=started,
                ids=only,
            )
            if not batch:
                break
            work = _Batch(batch, build(batch), failures, stop)
            try:
                _send(work, channels, pool, throttle or Throttle())
            finally:
                outbox.record(engine, work.outcomes(), worker=worker, settings=settings)
                outbox.release(engine, work.untried(), worker=worker)
            for outcome in work.outcomes():
                _count(report, outcome.outcome)
            if progress is not None:
                progress.advance(len(work.outcomes()))
            if failures.paused:
                log.warning("channel %s paused: %s", name, failures.last_error or "failures")
                report.paused.append(name)
                break
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return report


class _Failures:
    """Consecutive failures across the senders of one channel; at the limit the channel pauses."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_row = 0
        self.last_error: str | None = None

    @property
    def paused(self) -> bool:
        return self.in_row >= self.limit

    def saw(self, outcome: Outcome) -> None:
        if outcome.outcome == AttemptOutcome.CHANNEL_DOWN:
            self.in_row = self.limit
        elif outcome.outcome in _FAILED:
            self.in_row += 1
        else:
            self.in_row = 0
        if outcome.error:
            self.last_error = outcome.error


_FAILED = (AttemptOutcome.TEMPORARY, AttemptOutcome.RATE_LIMITED, AttemptOutcome.PERMANENT)


class _Batch:
    """One claimed batch handed out row by row to the senders; knows what was tried and what was not."""

    def __init__(
        self,
        batch: Sequence[Claimed],
        messages: Mapping[int, Any],
        failures: _Failures,
        stop: threading.Event,
    ) -> None:
        self.batch = list(batch)
        self.messages = messages
        self.failures = failures
        self.stop = stop
        self._next = 0
        self._done: dict[int, Outcome] = {}
        self._given_back: set[int] = set()
        self._lock = threading.Lock()

    def take(self) -> tuple[int, Claimed, Any] | None:
        """The next row to send, or None when the batch is used up, stopping, or the channel paused."""
        with self._lock:
            if self._next >= len(self.batch) or self.stop.is_set() or self.failures.paused:
                return None
            index, self._next = self._next, self._next + 1
        claimed = self.batch[index]
        return index, claimed, self.messages.get(claimed.id)

    def done(self, index: int, outcome: Outcome) -> None:
        with self._lock:
            self._done[index] = outcome
            self.failures.saw(outcome)

    def give_back(self, index: int) -> None:
        with self._lock:
            self._given_back.add(index)

    def outcomes(self) -> list[Outcome]:
        with self._lock:
            return [self._done[i] for i in sorted(self._done)]

    def untried(self) -> list[Claimed]:
        """Rows never handed to a sender, or handed back before sending; a row taken but not finished
        (its sender crashed) is neither: it stays leased, since nobody knows whether it left."""
        with self._lock:
            left = set(range(self._next, len(self.batch))) | self._given_back
            return [self.batch[i] for i in sorted(left)]


def _send(
    work: _Batch, channels: list[Channel[Any]], pool: ThreadPoolExecutor | None, throttle: Throttle
) -> None:
    if pool is None:
        _drain(work, channels[0], throttle)
        return
    futures = [pool.submit(_drain, work, channel, throttle) for channel in channels]
    for future in futures:
        future.result()


def _drain(work: _Batch, channel: Channel[Any], throttle: Throttle) -> None:
    """One sender: take rows until none is left; wait for the throttle outside any transaction."""
    while (item := work.take()) is not None:
        index, claimed, message = item
        goes_out = message is not None and not isinstance(message, (Suppressed, DeliveryError))
        if goes_out and not throttle.wait(claimed.recipient, work.stop):
            work.give_back(index)
            return
        work.done(index, _attempt(channel, claimed, message))


def _count(report: DispatchReport, outcome: AttemptOutcome) -> None:
    if outcome == AttemptOutcome.SENT:
        report.sent += 1
    elif outcome == AttemptOutcome.SUPPRESSED:
        report.suppressed += 1
    elif outcome == AttemptOutcome.PERMANENT:
        report.permanent += 1
    else:
        report.temporary += 1
