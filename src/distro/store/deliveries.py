"""Delivery rows outside the send path (claiming, recording and backoff are :mod:`distro.outbox`'s): a
reader's deliveries and their attempts, the rows behind the desk's log and chart, counts by channel and
status, and the social scheduling an editor drives (posting-plan slots, holds, "post now").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row
from sqlmodel import Session, col, select

from distro.db import is_postgres
from distro.models import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus
from distro.store import table, transitions

_D, _A = table(Delivery), table(DeliveryAttempt)


def of_reader(session: Session, address: str, subscriber_id: int | None) -> Sequence[Delivery]:
    """Deliveries to ``address`` (any case) or, with a subscriber, to that subscriber; in id order."""
    mine = sa.func.lower(col(Delivery.recipient)) == address.lower()
    if subscriber_id is not None:
        mine = sa.or_(mine, col(Delivery.subscriber_id) == subscriber_id)
    return session.exec(select(Delivery).where(mine).order_by(col(Delivery.id))).all()


def attempts_of(session: Session, delivery_ids: Sequence[int]) -> Sequence[DeliveryAttempt]:
    query = select(DeliveryAttempt).where(col(DeliveryAttempt.delivery_id).in_(list(delivery_ids)))
    return session.exec(query.order_by(col(DeliveryAttempt.id))).all()


def channel_of(engine: Engine, delivery_id: int) -> str | None:
    """The channel of a delivery, or None when there is no such delivery."""
    with engine.connect() as connection:
        return connection.execute(sa.select(_D.c.channel).where(_D.c.id == delivery_id)).scalar()


def states(engine: Engine, delivery_ids: Collection[int]) -> dict[int, Row[Any, Any, Any]]:
    """Each delivery's ``id``, ``status`` and ``social_post_id``, by id (unknown ids are missing)."""
    query = sa.select(_D.c.id, _D.c.status, _D.c.social_post_id).where(_D.c.id.in_(list(delivery_ids)))
    with engine.connect() as connection:
        return {row.id: row for row in connection.execute(query)}


# -- counts ---------------------------------------------------------------------------------------------


def counts(engine: Engine, *, social: bool = False) -> dict[str, dict[str, int]]:
    """Delivery rows by channel, then status (``social``: social posts only)."""
    query = sa.select(_D.c.channel, _D.c.status, sa.func.count()).group_by(_D.c.channel, _D.c.status)
    if social:
        query = query.where(_D.c.social_post_id.is_not(None))
    found: dict[str, dict[str, int]] = {}
    with engine.connect() as connection:
        for channel, status, number in connection.execute(query):
            found.setdefault(channel, {})[status] = int(number)
    return found


def oldest_pending(engine: Engine) -> dict[str, datetime]:
    """When each channel's oldest pending row was queued."""
    query = (
        sa.select(_D.c.channel, sa.func.min(_D.c.created_at))
        .where(_D.c.status == DeliveryStatus.PENDING)
        .group_by(_D.c.channel)
    )
    with engine.connect() as connection:
        return {channel: created for channel, created in connection.execute(query)}


def attempts_since(engine: Engine, since: datetime, outcomes: Collection[str]) -> dict[str, int]:
    """How many attempts with one of ``outcomes`` started since ``since``, by channel."""
    query = (
        sa.select(_D.c.channel, sa.func.count())
        .join(_A, _A.c.delivery_id == _D.c.id)
        .where(_A.c.outcome.in_(list(outcomes)), _A.c.started_at >= since)
        .group_by(_D.c.channel)
    )
    with engine.connect() as connection:
        return {channel: int(number) for channel, number in connection.execute(query)}


def _seconds(engine: Engine) -> Any:
    """An attempt's finished_at - started_at in seconds, in the dialect's own arithmetic."""
    if is_postgres(engine):
        return sa.func.extract("epoch", _A.c.finished_at - _A.c.started_at)
    return (sa.func.julianday(_A.c.finished_at) - sa.func.julianday(_A.c.started_at)) * 86400.0


def latency(
    engine: Engine, since: datetime, bounds: Sequence[float]
) -> list[tuple[str, int, float, list[int]]]:
    """Per channel, attempts finished since ``since`` (abandoned ones aside): how many, their total
    seconds from claim to outcome, and how many took at most each of ``bounds`` seconds."""
    seconds = _seconds(engine)
    within = [sa.func.sum(sa.case((seconds <= bound, 1), else_=0)) for bound in bounds]
    query = (
        sa.select(_D.c.channel, sa.func.count(), sa.func.sum(seconds), *within)
        .select_from(_A.join(_D, _D.c.id == _A.c.delivery_id))
        .where(
            _A.c.finished_at.is_not(None),
            _A.c.finished_at >= since,
            _A.c.outcome != AttemptOutcome.ABANDONED,
        )
        .group_by(_D.c.channel)
    )
    with engine.connect() as connection:
        return [
            (channel, int(count), float(total or 0.0), [int(c or 0) for c in cumulative])
            for channel, count, total, *cumulative in connection.execute(query)
        ]


# -- social scheduling: posting plans and editors' holds -------------------------------------------------


def existing_keys(connection: Connection, keys: Collection[str]) -> set[str]:
    """Which of these idempotency keys already have a delivery row."""
    return set(connection.execute(sa.select(_D.c.key).where(_D.c.key.in_(list(keys)))).scalars())


def taken_times(
    connection: Connection, channel: str, *, now: datetime, sent_since: datetime
) -> list[datetime]:
    """The channel's send times still to come (an overdue one counts as ``now``) and those of its posts sent
    since ``sent_since``. Held posts are not scheduled, so they take no slot until released."""
    waiting = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
    scheduled = sa.select(_D.c.next_attempt_at).where(_D.c.channel == channel, _D.c.status.in_(waiting))
    sent = sa.select(_D.c.sent_at).where(_D.c.channel == channel, _D.c.sent_at >= sent_since)
    return [max(when, now) for when in connection.execute(scheduled).scalars()] + list(
        connection.execute(sent).scalars()
    )


def hold(engine: Engine, delivery_ids: Collection[int], now: datetime) -> int:
    """Hold pending rows back (never claimed until released); how many changed."""
    held = _D.c.status.in_(transitions.legal_from(DeliveryStatus.HELD, DeliveryStatus.PENDING))
    with engine.begin() as connection:
        changed = sa.update(_D).where(_D.c.id.in_(list(delivery_ids)), held)
        return connection.execute(changed.values(status=DeliveryStatus.HELD, updated_at=now)).rowcount


def held(connection: Connection, delivery_ids: Collection[int]) -> Sequence[Row[Any, Any, Any]]:
    """The held rows among these (``id``, ``channel``, ``next_attempt_at``), earliest first."""
    query = sa.select(_D.c.id, _D.c.channel, _D.c.next_attempt_at).where(
        _D.c.id.in_(list(delivery_ids)), _D.c.status == DeliveryStatus.HELD
    )
    return connection.execute(query.order_by(_D.c.next_attempt_at, _D.c.id)).all()


def release(connection: Connection, delivery_id: int, *, at: datetime, now: datetime) -> int:
    """Release a held row into the queue at ``at``; 1 if it was still held, else 0."""
    was_held = _D.c.status.in_(transitions.legal_from(DeliveryStatus.PENDING, DeliveryStatus.HELD))
    changed = sa.update(_D).where(_D.c.id == delivery_id, was_held)
    return connection.execute(
        changed.values(status=DeliveryStatus.PENDING, next_attempt_at=at, updated_at=now)
    ).rowcount


def make_due(engine: Engine, delivery_id: int, now: datetime) -> None:
    """Due now, a hold lifted; a row that left pending or held meanwhile (a worker took it) is untouched."""
    waiting = transitions.legal_from(DeliveryStatus.PENDING, DeliveryStatus.PENDING, DeliveryStatus.HELD)
    changed = sa.update(_D).where(_D.c.id == delivery_id, _D.c.status.in_(waiting))
    with engine.begin() as connection:
        connection.execute(changed.values(status=DeliveryStatus.PENDING, next_attempt_at=now, updated_at=now))


def addressed(connection: Connection, delivery_id: int) -> Row[Any, Any, Any] | None:
    """A delivery's ``channel``, ``recipient`` and ``subscriber_id`` (a bounce's VERP token names it)."""
    query = sa.select(_D.c.channel, _D.c.recipient, _D.c.subscriber_id).where(_D.c.id == delivery_id)
    return connection.execute(query).first()
