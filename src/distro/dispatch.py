"""The dispatch loop: claim -> build the wire message -> channel.send -> record, per channel.

It knows channels only through :class:`~distro.channels.base.Channel` and messages only through a
:class:`Builder`, so SMTP, OAuth and templates stay out of it. A channel that fails
``pause_after_errors`` times in a row is paused for the rest of the run: its claimed rows go back to the
queue untouched instead of burning through the list during an outage.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from distro import outbox
from distro.channels.base import Channel
from distro.errors import ChannelFailure, DeliveryError, PermanentFailure, RateLimited, TemporaryFailure
from distro.models import AttemptOutcome, utcnow
from distro.outbox import Claimed, Outcome
from distro.settings import DispatchSettings

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
    except PermanentFailure as exc:
        return Outcome(claimed, AttemptOutcome.PERMANENT, error=str(exc))
    except Exception as exc:  # a bug or an unexpected library error: keep the row, retry later
        log.exception("channel %s raised unexpectedly for delivery %s", channel.name, claimed.id)
        return Outcome(claimed, AttemptOutcome.TEMPORARY, error=f"unexpected {type(exc).__name__}: {exc}")
    return Outcome(claimed, AttemptOutcome.SENT, provider_id=receipt.provider_id, finished_at=utcnow())


def dispatch_channel(
    *,
    engine: Engine,
    channel: Channel[Any],
    build: Builder,
    settings: DispatchSettings,
    worker: str,
    stop: threading.Event | None = None,
) -> DispatchReport:
    """Send every row of ``channel`` that is due now; return what happened."""
    report = DispatchReport()
    started = utcnow()
    failures_in_row = 0
    while not (stop and stop.is_set()):
        batch = outbox.claim(
            engine,
            channel=channel.name,
            worker=worker,
            limit=settings.batch_size,
            lease_seconds=settings.lease_seconds,
            due_before=started,
        )
        if not batch:
            break
        messages = build(batch)
        outcomes: list[Outcome] = []
        untried: list[Claimed] = []
        try:
            for index, claimed in enumerate(batch):
                if (stop and stop.is_set()) or failures_in_row >= settings.pause_after_errors:
                    untried = list(batch[index:])
                    break
                outcome = _attempt(channel, claimed, messages.get(claimed.id))
                outcomes.append(outcome)
                failed = outcome.outcome in (
                    AttemptOutcome.TEMPORARY,
                    AttemptOutcome.RATE_LIMITED,
                    AttemptOutcome.PERMANENT,
                )
                failures_in_row = failures_in_row + 1 if failed else 0
                if outcome.outcome == AttemptOutcome.CHANNEL_DOWN:
                    failures_in_row = settings.pause_after_errors
        finally:
            outbox.record(engine, outcomes, worker=worker, settings=settings)
            outbox.release(engine, untried, worker=worker)
        for outcome in outcomes:
            _count(report, outcome.outcome)
        if failures_in_row >= settings.pause_after_errors:
            log.warning("channel %s paused: %s", channel.name, outcomes[-1].error if outcomes else "failures")
            report.paused.append(channel.name)
            break
    return report


def _count(report: DispatchReport, outcome: AttemptOutcome) -> None:
    if outcome == AttemptOutcome.SENT:
        report.sent += 1
    elif outcome == AttemptOutcome.SUPPRESSED:
        report.suppressed += 1
    elif outcome == AttemptOutcome.PERMANENT:
        report.permanent += 1
    else:
        report.temporary += 1
