"""The dispatch loop: claim -> build the wire message -> channel.send -> record, per channel.

It knows channels only through :class:`~distro.channels.base.Channel` and messages only through a
:class:`Builder`, so SMTP, OAuth and templates stay out of it. A channel that fails
``pause_after_errors`` times in a row is paused for the rest of the run: its claimed rows go back to the
queue untouched instead of burning through the list during an outage.

A pool of channel instances (``dispatch.workers_per_channel``) sends one batch from several threads; a
:class:`~distro.throttle.Throttle` paces them without blocking (:mod:`distro.batch`: group commits,
lease heartbeat, fencing). When ``stop`` is set, the messages in flight finish and are recorded, and the
rest of the batch is released without counting an attempt. A :class:`~distro.errors.RecipientRejected`
is recorded as a hard bounce (:mod:`distro.services.suppression`). A provider's account-wide rate limit
(:class:`~distro.errors.RateLimited` with ``pause_account``) pauses the channel for every worker until
its reset (:class:`~distro.models.ChannelPause`), and the rest of the batch goes back untouched.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from distro import outbox
from distro.batch import Batch, Failures, Suppressed, defer_seconds, keep_books
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
from distro.store.pauses import paused_until
from distro.throttle import Throttle

__all__ = ["Builder", "DispatchReport", "Suppressed", "dispatch_channel"]

log = logging.getLogger(__name__)


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
        return Outcome(
            claimed,
            AttemptOutcome.RATE_LIMITED,
            error=str(exc),
            retry_after=exc.retry_after,
            pause_account=getattr(exc, "pause_account", False),
        )
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

    Each instance of the channel (a pool) sends from its own thread and they share each claimed batch;
    this thread claims, renews the lease and records (:mod:`distro.batch`), so SQLite's single writer is
    never contended by the senders and a pool adds no database connections.
    """
    channels = [channel] if not isinstance(channel, Sequence) else list(channel)
    if not channels:
        raise ValueError("dispatch_channel needs at least one channel")
    run = _Run(engine, channels[0].name, build, settings, worker, stop or threading.Event(), only)
    throttle = throttle or Throttle()
    with ThreadPoolExecutor(len(channels), thread_name_prefix=f"send-{run.name}") as pool:
        while not run.stop.is_set() and not run.paused():
            leased_at = time.monotonic()
            batch = run.claim()
            if not batch:
                break
            work = run.batch(batch, throttle, leased_at)
            senders = [pool.submit(_drain, work, sender) for sender in channels]
            keep_books(engine, work, senders, worker=worker, settings=settings, progress=progress)
            run.settle(work)
            for future in senders:
                future.result()  # a sender's own bug surfaces here, after its rows are recorded
            if run.failures.paused:
                log.warning("channel %s paused: %s", run.name, run.failures.last_error or "failures")
                run.report.paused.append(run.name)
                break
            if work.aborted:
                break
    return run.report


@dataclass
class _Run:
    """One dispatch run of one channel: what it may claim, and what it has done so far."""

    engine: Engine
    name: str
    build: Builder
    settings: DispatchSettings
    worker: str
    stop: threading.Event
    only: Sequence[int] | None
    started: Any = field(default_factory=utcnow)
    report: DispatchReport = field(default_factory=DispatchReport)
    failures: Failures = field(init=False)

    def __post_init__(self) -> None:
        self.failures = Failures(self.settings.pause_after_errors)

    def paused(self) -> bool:
        """Whether the provider paused this channel (an account) for every worker; logged once."""
        pause = paused_until(self.engine, self.name)
        if pause is None:
            return False
        until = pause.until.isoformat(timespec="seconds")
        log.info("%s is paused until %s: %s", self.name, until, pause.reason)
        self.report.paused.append(self.name)
        return True

    def claim(self) -> list[Claimed]:
        return outbox.claim(
            self.engine,
            channel=self.name,
            worker=self.worker,
            limit=self.settings.batch_size,
            lease_seconds=self.settings.lease_seconds,
            due_before=self.started,  # a row rescheduled by this run is not retried in it
            ids=self.only,
        )

    def batch(self, batch: list[Claimed], throttle: Throttle, leased_at: float) -> Batch:
        return Batch(
            batch,
            self.build(batch),
            failures=self.failures,
            stop=self.stop,
            throttle=throttle,
            lease_seconds=self.settings.lease_seconds,
            leased_at=leased_at,
            record_every=self.settings.record_every_messages,
            record_before_next=self.settings.record_before_next_send,
        )

    def settle(self, work: Batch) -> None:
        """Give back what was not tried (deferred rows until their domain's slot) and count outcomes."""
        outbox.release(self.engine, work.untried(), worker=self.worker)
        deferred, wait = work.deferred(), defer_seconds(work)
        if deferred and wait is not None:
            outbox.release(self.engine, deferred, worker=self.worker, not_before=utcnow() + wait)
        for outcome in work.outcomes():
            _count(self.report, outcome.outcome)


def _drain(work: Batch, channel: Channel[Any]) -> None:
    """One sender: take the rows that may go now until none is left."""
    try:
        while (item := work.take()) is not None:
            claimed, message = item
            work.done(claimed, _attempt(channel, claimed, message))
    finally:
        work.leaving()


def _count(report: DispatchReport, outcome: AttemptOutcome) -> None:
    if outcome == AttemptOutcome.SENT:
        report.sent += 1
    elif outcome == AttemptOutcome.SUPPRESSED:
        report.suppressed += 1
    elif outcome == AttemptOutcome.PERMANENT:
        report.permanent += 1
    else:
        report.temporary += 1
