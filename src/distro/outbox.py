"""The outbox: delivery rows written before anything is sent, claimed with a lease, released with an outcome.

Guarantees the rest of distro relies on:
- :func:`enqueue_many` is idempotent: a key that exists is skipped (INSERT ... ON CONFLICT DO NOTHING), so
  composing twice or two schedulers racing never creates a second row.
- :func:`claim` hands a row to one worker at a time. On PostgreSQL it uses ``FOR UPDATE SKIP LOCKED`` so
  any number of workers on any number of machines share the queue; on SQLite the transaction takes the
  write lock up front (see :mod:`distro.db`). A row whose lease expired (its worker died) is claimable
  again, and the lost try is logged as ``abandoned``.
- A claim is fenced: each one writes a fresh lease token (``worker#n``) into ``lease_owner``.
  :func:`renew` (the heartbeat) extends only the rows that still carry the token and says which ones
  those are, and :func:`record` moves on only those rows, so a worker whose lease was taken over never
  overwrites the new holder's state (a confirmed send is still logged: see :func:`record`).
- :func:`record` writes the attempt to the log and moves the row to its next state in one transaction;
  an account-wide rate limit is written as a :class:`~distro.models.ChannelPause` in the same one.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from distro.db import is_postgres
from distro.models import (
    AttemptOutcome,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    UTCDateTime,
    utcnow,
)
from distro.settings import DispatchSettings
from distro.store import bounce_events, deliveries, new_deliveries, table, transitions, webhook_events
from distro.store.pauses import pause_channel
from distro.store.suppressions import Bounce, count_bounces
from distro.urls import strip_credentials

D, A = table(Delivery), table(DeliveryAttempt)
_CLAIMS = itertools.count(1)
_CHUNK = 500
CHANNEL_DOWN_RETRY_SECONDS = 600.0
# The status changes made here, each checked against the one table of legal transitions at import.
_CLAIMED_FROM = transitions.legal_from(DeliveryStatus.SENDING, DeliveryStatus.PENDING, DeliveryStatus.SENDING)
_RELEASED_FROM = transitions.legal_from(DeliveryStatus.PENDING, DeliveryStatus.SENDING)


def enqueue_many(engine: Engine, rows: Iterable[dict[str, Any]]) -> int:
    """Insert delivery rows (dicts of Delivery columns, ``key`` required); return how many were new."""
    created = 0
    batch: list[dict[str, Any]] = []

    def flush() -> int:
        if not batch:
            return 0
        now = utcnow()
        values = [
            {
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
                **row,
            }
            for row in batch
        ]
        with engine.begin() as connection:
            count = new_deliveries.insert_new(connection, values)
            webhook_events.queued_failed(connection, values)  # a post that cannot fit: post.failed
        batch.clear()
        return count

    for row in rows:
        batch.append(row)
        if len(batch) >= _CHUNK:
            created += flush()
    return created + flush()


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    key: str
    channel: str
    recipient: str
    digest_id: int | None
    subscriber_id: int | None
    social_post_id: int | None
    attempt: int  # the number of this try, from 1
    started_at: datetime
    lease: str = ""  # the claim's fencing token in lease_owner ("" for rows leased under the worker's id)


def worker_of(lease_owner: str | None) -> str:
    """The worker id inside a lease token (``worker#n``)."""
    return (lease_owner or "unknown").partition("#")[0]


def _due(channel: str, status: DeliveryStatus, due: Any, limit: int, ids: Sequence[int] | None) -> Any:
    """Up to ``limit`` of the channel's rows in ``status`` that are ``due``, in send order.

    One state per statement, so the database walks ``ix_delivery_claim`` (channel, status,
    next_attempt_at, id) and stops after ``limit`` rows whatever the queue's depth: an ``OR`` of two
    states made it read and sort every queued row (issue 17; the plans are in bench/README.md).
    """
    pick = (
        sa.select(*_PICKED)
        .where(D.c.channel == channel, D.c.status == status, due)
        .order_by(D.c.next_attempt_at, D.c.id)
        .limit(limit)
    )
    return pick if ids is None else pick.where(D.c.id.in_(list(ids)))


# What a claim reads: the fields of a Claimed first (in its order), so nothing is read back after the update.
_FIELDS = ("id", "key", "channel", "recipient", "digest_id", "subscriber_id", "social_post_id")
_PICKED = tuple(D.c[name] for name in (*_FIELDS, "status", "lease_owner", "attempts"))


def _abandoned(row: Any, now: datetime) -> dict[str, Any]:
    """The attempt-log row for a try whose worker stopped reporting before its lease ran out."""
    return {
        "delivery_id": row.id,
        "number": row.attempts,
        "worker": worker_of(row.lease_owner),
        "outcome": AttemptOutcome.ABANDONED,
        "error": "worker stopped reporting; lease expired",
        "started_at": now,
        "finished_at": now,
    }


def claim(
    engine: Engine,
    *,
    channel: str,
    worker: str,
    limit: int,
    lease_seconds: float,
    now: datetime | None = None,
    due_before: datetime | None = None,
    ids: Sequence[int] | None = None,
) -> list[Claimed]:
    """Lease up to ``limit`` rows of ``channel`` due by ``due_before`` (default: now) to ``worker``.

    A dispatch run passes its start time as ``due_before`` so a row it reschedules is not retried in the
    same run. ``ids`` narrows the claim to those rows (the desk's "post now"); a row another worker holds
    is skipped as usual, never waited for.
    """
    now = now or utcnow()
    token = f"{worker}#{next(_CLAIMS)}"
    # Rows whose worker vanished (lease expired) first, then pending rows that are due: two index walks.
    picks = [
        (DeliveryStatus.SENDING, D.c.lease_until < now),
        (DeliveryStatus.PENDING, D.c.next_attempt_at <= (due_before or now)),
    ]
    picked: list[Any] = []
    with engine.begin() as connection:
        for status, due in picks:
            if len(picked) >= limit:
                break
            pick = _due(channel, status, due, limit - len(picked), ids)
            if is_postgres(engine):
                pick = pick.with_for_update(skip_locked=True)
            picked.extend(connection.execute(pick).fetchall())
        if not picked:
            return []
        abandoned = [_abandoned(row, now) for row in picked if row.status == DeliveryStatus.SENDING]
        if abandoned:
            connection.execute(sa.insert(A), abandoned)
        connection.execute(
            sa.update(D)
            .where(D.c.id.in_([row.id for row in picked]), D.c.status.in_(_CLAIMED_FROM))  # locked by us
            .values(
                status=DeliveryStatus.SENDING,
                lease_owner=token,
                lease_until=now + timedelta(seconds=lease_seconds),
                attempts=D.c.attempts + 1,
                updated_at=now,
            )
        )
    # Every picked row was updated (this transaction held them), so its attempt is the one read plus one.
    return [
        Claimed(
            **dict(zip(_FIELDS, row, strict=False)), attempt=row.attempts + 1, started_at=now, lease=token
        )
        for row in picked
    ]


def renew(
    engine: Engine, claimed: Sequence[Claimed], *, lease_seconds: float, now: datetime | None = None
) -> set[int]:
    """Heartbeat: extend the lease of the rows still held under their claim; return those rows' ids.

    A row missing from the answer was taken over (its lease ran out while this worker could not renew
    it): the worker must not send it.
    """
    if not claimed:
        return set()
    now = now or utcnow()
    by_lease: dict[str, list[int]] = {}
    for item in claimed:
        by_lease.setdefault(item.lease, []).append(item.id)
    held: set[int] = set()
    with engine.begin() as connection:
        for lease, ids in by_lease.items():
            result = connection.execute(
                sa.update(D)
                .where(D.c.id.in_(ids), D.c.lease_owner == lease, D.c.status == DeliveryStatus.SENDING)
                .values(lease_until=now + timedelta(seconds=lease_seconds))
                .returning(D.c.id)
            )
            held.update(row[0] for row in result)
    return held


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed row; built by the dispatcher, stored by :func:`record`."""

    claimed: Claimed
    outcome: AttemptOutcome
    provider_id: str | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds, from the provider (rate limit reset, Retry-After)
    finished_at: datetime | None = None
    hard_bounce: bool = False  # the recipient's server refused the address (counts toward suppression)
    pause_account: bool = False  # the provider stopped the whole account until ``retry_after``


def backoff_seconds(attempt: int, settings: DispatchSettings, *, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter in the upper half, so retries of one outage spread out."""
    ceiling = min(settings.backoff_max_seconds, settings.backoff_base_seconds * 2 ** max(attempt - 1, 0))
    return float(ceiling * (0.5 + 0.5 * (rng or random).random()))


def _next_state(item: Outcome, settings: DispatchSettings, now: datetime) -> dict[str, Any]:
    state: dict[str, Any] = {"updated_at": now, "lease_owner": None, "lease_until": None}
    if item.error:  # a provider's words may quote a URL with credentials in it
        item = dataclasses.replace(item, error=strip_credentials(item.error))
    if item.outcome == AttemptOutcome.SENT:
        return state | {
            "status": DeliveryStatus.SENT,
            "provider_id": item.provider_id,
            "sent_at": now,
            "last_error": None,
        }
    if item.outcome == AttemptOutcome.SUPPRESSED:
        return state | {"status": DeliveryStatus.SUPPRESSED, "last_error": item.error}
    if item.outcome == AttemptOutcome.PERMANENT:
        return state | {"status": DeliveryStatus.FAILED, "last_error": item.error}
    if item.outcome == AttemptOutcome.CHANNEL_DOWN or item.pause_account:  # not the message's fault:
        delay = CHANNEL_DOWN_RETRY_SECONDS if item.retry_after is None else item.retry_after  # not counted
        return state | {
            "status": DeliveryStatus.PENDING,
            "last_error": item.error,
            "attempts": item.claimed.attempt - 1,
            "next_attempt_at": now + timedelta(seconds=delay),
        }
    if item.outcome == AttemptOutcome.TEMPORARY and item.claimed.attempt >= settings.max_attempts:
        return state | {
            "status": DeliveryStatus.FAILED,
            "last_error": f"gave up after {item.claimed.attempt} attempts: {item.error}",
        }
    delay = backoff_seconds(item.claimed.attempt, settings)
    if item.retry_after is not None:
        delay = max(item.retry_after, 1.0)
    return state | {
        "status": DeliveryStatus.PENDING,
        "last_error": item.error,
        "next_attempt_at": now + timedelta(seconds=delay),
    }


# A confirmed send is recorded even when another worker took the lease over meanwhile: the log must not
# deny a message the provider accepted. Built once: per-row UPDATEs cost more CPU than the SMTP send.
_MARK_SENT = (
    sa.update(D)
    .where(
        D.c.id == sa.bindparam("row_id"),
        # Any row not sent yet, ours or not (each state its own bind: IN (...) cannot run as executemany).
        sa.or_(*(D.c.status == old for old in transitions.sources(DeliveryStatus.SENT))),
    )
    .values(
        status=DeliveryStatus.SENT,
        provider_id=sa.bindparam("provider"),
        sent_at=sa.bindparam("now", type_=UTCDateTime),
        updated_at=sa.bindparam("now", type_=UTCDateTime),
        last_error=None,
        lease_owner=None,
        lease_until=None,
    )
)


def _attempt(item: Outcome, worker: str, now: datetime) -> dict[str, Any]:
    """The attempt-log row of one outcome."""
    return {
        "delivery_id": item.claimed.id,
        "number": item.claimed.attempt,
        "worker": worker,
        # A refused address is logged as such: the desk counts bounces from the attempt log.
        "outcome": AttemptOutcome.HARD_BOUNCE if item.hard_bounce else item.outcome,
        "provider_id": item.provider_id,
        "error": strip_credentials(item.error) if item.error else None,
        "started_at": item.claimed.started_at,
        "finished_at": item.finished_at or now,
    }


def record(engine: Engine, outcomes: Sequence[Outcome], *, worker: str, settings: DispatchSettings) -> None:
    """Log each attempt, move each row on, count hard bounces and queue the webhook events they cause, in one
    transaction. A row whose lease another worker took over meanwhile keeps that worker's state, except that
    a confirmed send is always recorded: the log must not deny a message the provider accepted."""
    if not outcomes:
        return
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(sa.insert(A), [_attempt(o, worker, now) for o in outcomes])
        sent = [
            {"row_id": o.claimed.id, "provider": o.provider_id, "now": now}
            for o in outcomes
            if o.outcome == AttemptOutcome.SENT
        ]
        if sent:  # the common case: one statement, compiled once, run as an executemany
            connection.execute(_MARK_SENT, sent)
        for item in outcomes:
            if item.outcome == AttemptOutcome.SENT:
                continue
            ours = sa.and_(
                D.c.lease_owner == (item.claimed.lease or worker), D.c.status == DeliveryStatus.SENDING
            )
            state = _next_state(item, settings, now)
            transitions.check(DeliveryStatus.SENDING, state["status"])  # from the one table
            connection.execute(sa.update(D).where(D.c.id == item.claimed.id, ours).values(**state))
            if item.pause_account:
                until = now + timedelta(seconds=item.retry_after or CHANNEL_DOWN_RETRY_SECONDS)
                pause_channel(connection, item.claimed.channel, until, item.error or "rate limited", now)
        bounces = [
            Bounce(o.claimed.subscriber_id, o.claimed.recipient, o.error or "refused", o.claimed.id)
            for o in outcomes
            if o.hard_bounce
        ]
        if bounces:
            suppressed = count_bounces(connection, bounces, limit=settings.hard_bounce_limit)
            bounce_events.record_refusals(connection, bounces, set(suppressed), now)
        webhook_events.report(connection, outcomes)  # outgoing webhooks, in this transaction


def release(
    engine: Engine, claimed: Sequence[Claimed], *, worker: str, not_before: datetime | None = None
) -> None:
    """Give back rows that were claimed but not tried (shutdown, a pause, a throttled domain): no attempt
    is counted or logged. ``not_before`` defers them (a domain's next free slot)."""
    if not claimed:
        return
    now = utcnow()
    later = {"next_attempt_at": not_before} if not_before is not None else {}
    with engine.begin() as connection:
        for lease in {c.lease for c in claimed}:
            connection.execute(
                sa.update(D)
                .where(
                    D.c.id.in_([c.id for c in claimed if c.lease == lease]),
                    D.c.lease_owner == (lease or worker),
                    D.c.status.in_(_RELEASED_FROM),
                )
                .values(
                    status=DeliveryStatus.PENDING,
                    lease_owner=None,
                    lease_until=None,
                    attempts=D.c.attempts - 1,
                    updated_at=now,
                    **later,
                )
            )


def counts_by_status(engine: Engine, channel: str | None = None) -> dict[str, int]:
    """Delivery rows by status, of one channel or of all."""
    totals: dict[str, int] = {}
    for name, by_status in deliveries.counts(engine).items():
        if not channel or name == channel:
            for status, count in by_status.items():
                totals[status] = totals.get(status, 0) + count
    return totals
