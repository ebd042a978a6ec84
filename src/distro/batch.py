"""One claimed batch while it is being sent: rows handed to the senders, the lease kept, outcomes recorded.

The sender threads only send; the dispatching thread keeps the books (:func:`keep_books`):

- **Group commits.** An outcome is recorded within ``dispatch.record_every_seconds`` (100 ms) or as soon
  as ``dispatch.record_every_messages`` (32) are waiting, whichever comes first, so a worker killed
  outright leaves at most the messages in flight (one per connection) plus that short window unrecorded.
  With ``dispatch.record_before_next_send`` a connection sends its next message only once its last
  outcome is recorded: a crash then leaves only the messages on the wire, at about twice the CPU.
- **Heartbeat.** The lease of every row not yet recorded is renewed every third of
  ``dispatch.lease_seconds``; a row the heartbeat no longer holds (taken over) is never sent.
- **Fencing.** A sender takes a row only while the lease is known to hold with a quarter of it to spare
  (counted on this machine's monotonic clock from the last renewal that succeeded). When the database
  cannot be reached, the books keep every outcome, retry with backoff, and the senders wait for the
  renewal; past the lease they stop, so a blip shorter than the lease costs nothing and a longer one
  costs no more than the lease's worth of waiting.
- **Throttles never block.** A sender takes the first row whose recipient domain has a free slot now; when
  every row left waits on its domain for longer than :data:`DEFER_AFTER_SECONDS`, those rows go back to
  the queue until their slot (no attempt counted) and the batch ends, so one slow domain holds up nobody.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine

from distro import outbox
from distro.db import DATABASE_DOWN, describe_database_error
from distro.errors import DeliveryError
from distro.models import AttemptOutcome
from distro.outbox import Claimed, Outcome
from distro.progress import Ticker
from distro.settings import DispatchSettings
from distro.throttle import Throttle

log = logging.getLogger(__name__)

DEFER_AFTER_SECONDS = 1.0
"""A row whose domain's next slot is further away than this goes back to the queue until then."""

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Suppressed:
    """The row must not be sent (recipient unsubscribed, post withdrawn); ``reason`` goes in the log."""

    reason: str


def goes_out(message: Any) -> bool:
    """Whether ``message`` reaches the channel (not suppressed, not already a failure, not missing)."""
    return message is not None and not isinstance(message, (Suppressed, DeliveryError))


class Failures:
    """Consecutive failures across the senders of one channel; at the limit the channel pauses."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_row = 0
        self.last_error: str | None = None

    @property
    def paused(self) -> bool:
        return self.in_row >= self.limit

    def saw(self, outcome: Outcome) -> None:
        if outcome.outcome == AttemptOutcome.CHANNEL_DOWN or outcome.pause_account:
            self.in_row = self.limit
        elif outcome.outcome in _FAILED:
            self.in_row += 1
        else:
            self.in_row = 0
        if outcome.error:
            self.last_error = outcome.error


_FAILED = (AttemptOutcome.TEMPORARY, AttemptOutcome.RATE_LIMITED, AttemptOutcome.PERMANENT)


class Batch:
    """The rows of one claim, handed out to the senders and accounted for until every one is settled."""

    def __init__(
        self,
        batch: Sequence[Claimed],
        messages: Mapping[int, Any],
        *,
        failures: Failures,
        stop: threading.Event,
        throttle: Throttle,
        lease_seconds: float,
        leased_at: float,
        record_every: int = 1,
        record_before_next: bool = False,
        clock: Clock = time.monotonic,
    ) -> None:
        self.batch = list(batch)
        self.messages = messages
        self.failures = failures
        self.stop = stop
        self.throttle = throttle
        self.lease_seconds = lease_seconds
        self.record_every = record_every
        self.record_before_next = record_before_next
        self.clock = clock
        self.leased_at = leased_at  # on ``clock``, taken just before the claim
        self.lease_deadline = leased_at + lease_seconds  # moved on by each renewal
        self.deferred_until: float | None = None  # the domains' next slot, when rows were put back
        self.aborted = False  # the lease ran out unrenewed: send nothing more
        self._waiting = list(range(len(self.batch)))  # indexes not handed out yet, in claim order
        self._taken: set[int] = set()
        self._pending: list[Outcome] = []  # done, not recorded yet
        self._pending_by: list[int] = []  # the sender thread of each pending outcome
        self._senders_waiting = 0  # senders waiting for their last outcome to be recorded
        self._pending_since: float | None = None
        self._recorded: list[Outcome] = []
        self._lost: set[int] = set()  # row ids another worker holds now
        self._deferred: set[int] = set()
        self._soonest: float | None = None
        self._cond = threading.Condition()

    # -- the senders' side ------------------------------------------------------------------------

    def take(self) -> tuple[Claimed, Any] | None:
        """The next row to send now, or None when there is nothing more for this sender to do."""
        with self._cond:
            if self.record_before_next:
                self._await_own_outcome()
            while True:
                if self._closed():
                    return None
                now = self.clock()
                if now >= self.lease_deadline:
                    if not self.aborted:
                        log.warning("lease not renewed in time: the rest of the batch is left for others")
                    self.aborted = True
                    self._cond.notify_all()
                    return None
                if now < self.lease_deadline - self.lease_seconds / 4:
                    ready = self._ready(now)
                    if ready is not None:
                        return ready
                    if self._closed():
                        return None
                # the lease is in doubt (no renewal lately) or every domain left is busy: wait a little
                self._cond.wait(self._pause_for(now))

    def _await_own_outcome(self) -> None:
        """Block until this sender's last outcome is recorded (or the batch is over), so a crash can
        leave at most the message on the wire per connection unrecorded."""
        me = threading.get_ident()
        self._senders_waiting += 1
        try:
            self._cond.notify_all()
            while me in self._pending_by and not self.aborted:
                if self.clock() >= self.lease_deadline:
                    self.aborted = True
                    self._cond.notify_all()
                    break
                self._cond.wait(0.05)
        finally:
            self._senders_waiting -= 1

    def done(self, claimed: Claimed, outcome: Outcome) -> None:
        with self._cond:
            self._pending.append(outcome)
            self._pending_by.append(threading.get_ident())
            first = self._pending_since is None
            if first:
                self._pending_since = self.clock()
            self.failures.saw(outcome)
            if first or len(self._pending) >= self.record_every:  # the books need to act: wake them
                self._cond.notify_all()

    def leaving(self) -> None:
        """A sender is done: wake the books so the batch's end is recorded at once."""
        with self._cond:
            self._cond.notify_all()

    def _closed(self) -> bool:
        return (
            not self._waiting
            or self.stop.is_set()
            or self.failures.paused
            or self.aborted
            or self.deferred_until is not None
        )

    def _ready(self, now: float) -> tuple[Claimed, Any] | None:
        """Take the first waiting row that may go now; defer the rest when all wait on busy domains."""
        soonest: float | None = None
        for position, index in enumerate(self._waiting):
            claimed = self.batch[index]
            if claimed.id in self._lost:
                continue
            message = self.messages.get(claimed.id)
            if goes_out(message):
                wait = self.throttle.try_take(claimed.recipient)
                if wait > 0:
                    soonest = wait if soonest is None else min(soonest, wait)
                    continue
            del self._waiting[position]
            self._taken.add(index)
            return claimed, message
        self._waiting = [i for i in self._waiting if self.batch[i].id not in self._lost]
        self._soonest = soonest
        if soonest is not None and soonest > DEFER_AFTER_SECONDS:
            self.deferred_until = now + soonest
            self._deferred = {self.batch[i].id for i in self._waiting}
            self._cond.notify_all()
        return None

    def _pause_for(self, now: float) -> float:
        if now < self.lease_deadline - self.lease_seconds / 4 and self._soonest is not None:
            return max(0.001, min(0.1, self._soonest))  # only busy domains: until the first frees up
        return 0.05  # the lease is in doubt: look again soon

    # -- the books' side --------------------------------------------------------------------------

    def due(self, *, every: int, seconds: float, force: bool) -> tuple[list[Outcome], float]:
        """The outcomes to record now (group commit), or none and how long they may still wait."""
        with self._cond:
            if not self._pending:
                return [], seconds
            age = self.clock() - (self._pending_since or self.clock())
            if force or self._senders_waiting or len(self._pending) >= every or age >= seconds:
                return list(self._pending), 0.0
            return [], seconds - age

    def recorded(self, outcomes: Sequence[Outcome]) -> None:
        with self._cond:
            ids = {id(o) for o in outcomes}
            left = [
                (o, by) for o, by in zip(self._pending, self._pending_by, strict=True) if id(o) not in ids
            ]
            self._pending = [o for o, _ in left]
            self._pending_by = [by for _, by in left]
            self._pending_since = self.clock() if self._pending else None
            self._recorded.extend(outcomes)
            if self._senders_waiting:
                self._cond.notify_all()

    def held(self) -> list[Claimed]:
        """Rows still this worker's to look after: not recorded, not lost, not given back."""
        with self._cond:
            settled = {o.claimed.id for o in self._recorded}
            gone = self._lost | self._deferred
            return [c for c in self.batch if c.id not in settled and c.id not in gone]

    def renewed(self, at: float, held: set[int], asked: Sequence[Claimed]) -> None:
        with self._cond:
            self.lease_deadline = at + self.lease_seconds
            lost = {c.id for c in asked} - held
            if lost:
                log.warning(
                    "%d rows of this batch were taken over by another worker; not sending them", len(lost)
                )
                self._lost |= lost
            self._cond.notify_all()

    def wait(self, seconds: float) -> None:
        with self._cond:
            self._cond.wait(seconds)

    def outcomes(self) -> list[Outcome]:
        with self._cond:
            return list(self._recorded)

    def unrecorded(self) -> list[Outcome]:
        with self._cond:
            return list(self._pending)

    def untried(self) -> list[Claimed]:
        """Rows never handed to a sender and still ours; a row taken but not finished (its sender
        crashed) is not one: it stays leased, since nobody knows whether it left."""
        with self._cond:
            gone = self._lost | self._deferred
            return [self.batch[i] for i in sorted(self._waiting) if self.batch[i].id not in gone]

    def deferred(self) -> list[Claimed]:
        with self._cond:
            return [c for c in self.batch if c.id in self._deferred]


def keep_books(
    engine: Engine,
    work: Batch,
    senders: Sequence[Future[None]],
    *,
    worker: str,
    settings: DispatchSettings,
    progress: Ticker | None = None,
) -> None:
    """Record outcomes in group commits and renew the lease until the senders are done and all is recorded.

    When the database stays away after the senders are done and stopping was asked, returns once the
    lease has run out, logging the sends that could not be recorded by id (the outbox may send them again).
    """
    beat_every = max(settings.lease_seconds / 3, 0.05)
    next_beat = work.leased_at + beat_every
    backoff = _Backoff(settings.lease_seconds)
    while True:
        finished = all(f.done() for f in senders)
        now = work.clock()
        batch, flush_in = work.due(
            every=settings.record_every_messages, seconds=settings.record_every_seconds, force=finished
        )
        if batch and backoff.ready(now):
            try:
                outbox.record(engine, batch, worker=worker, settings=settings)
            except DATABASE_DOWN as exc:
                backoff.failed(now, exc, f"recording {len(batch)} outcomes")
            else:
                backoff.succeeded()
                work.recorded(batch)
                if progress is not None:
                    progress.advance(len(batch))
                continue
        if not finished and now >= next_beat and backoff.ready(now):
            held = work.held()
            try:
                still = outbox.renew(engine, held, lease_seconds=settings.lease_seconds)
            except DATABASE_DOWN as exc:
                backoff.failed(now, exc, "renewing the lease")
            else:
                backoff.succeeded()
                work.renewed(now, still, held)
                next_beat = now + beat_every
        if finished and not work.unrecorded():
            return
        if finished and work.stop.is_set() and now >= work.lease_deadline:
            lost = [o.claimed.id for o in work.unrecorded() if o.outcome == AttemptOutcome.SENT]
            log.error(
                "the database stayed away past the lease: %d sends could not be recorded (deliveries %s)",
                len(lost),
                ", ".join(map(str, lost)) or "none",
            )
            return
        waits = [flush_in, max(next_beat - now, 0.0)]
        if backoff.failing:
            waits.append(max(backoff.at - now, 0.0))
        work.wait(max(min(waits), 0.001))


class _Backoff:
    """Retry timing for database calls while the database is away: 0.1 s doubling to 5 s, and never
    more than a tenth of the lease, so a database that comes back is noticed while the lease holds."""

    def __init__(self, lease_seconds: float) -> None:
        self.at = 0.0
        self.delay = 0.1
        self.most = max(0.1, min(5.0, lease_seconds / 10))
        self.failing = False

    def ready(self, now: float) -> bool:
        return now >= self.at

    def failed(self, now: float, exc: BaseException, doing: str) -> None:
        if not self.failing:
            log.warning(
                "database unreachable while %s (%s); keeping the outcomes and retrying",
                doing,
                describe_database_error(exc),
            )
        self.failing = True
        self.at = now + self.delay
        self.delay = min(self.delay * 2, self.most)

    def succeeded(self) -> None:
        if self.failing:
            log.info("database back: recording again")
        self.failing = False
        self.delay = 0.1
        self.at = 0.0


def defer_seconds(work: Batch) -> timedelta | None:
    """How long the deferred rows wait for their domains' next slot, if rows were deferred."""
    if work.deferred_until is None:
        return None
    return timedelta(seconds=max(0.0, work.deferred_until - work.clock()))
