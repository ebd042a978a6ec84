"""Subscriber rows: found by address (in any case), added once, changed in one transaction, read a keyset
page at a time (never the whole list in memory).

Functions that take the engine are one transaction each and return detached rows; those that take a
session or connection run inside the caller's (a confirmation, a CSV import).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select

from distro.db import session_scope
from distro.models import Subscriber, SubscriberStatus, utcnow
from distro.store import suppressions, transitions, webhook_events

_lowered = sa.func.lower(col(Subscriber.email))  # addresses are unique whatever their case


def by_email(session: Session, address: str) -> Subscriber | None:
    """The subscriber with this address in any case (any status)."""
    return session.exec(select(Subscriber).where(_lowered == address.lower())).first()


def get(engine: Engine, subscriber_id: int) -> Subscriber | None:
    with session_scope(engine) as session:
        return session.get(Subscriber, subscriber_id)


def add(engine: Engine, subscriber: Subscriber) -> bool:
    """Store a new subscriber; False (and nothing stored) when the address is already known."""
    with session_scope(engine) as session:
        if by_email(session, subscriber.email) is not None:
            return False
        session.add(subscriber)
        webhook_events.subscriber_event(session, "subscriber.created", subscriber)
    return True


def change(engine: Engine, subscriber_id: int, edit: Callable[[Subscriber], object]) -> Subscriber | None:
    """Apply ``edit`` to the subscriber and commit; the row as stored, or None if there is no such one."""
    with session_scope(engine) as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None:
            return None
        edit(subscriber)
        session.add(subscriber)
        session.flush()
        session.refresh(subscriber)
        return subscriber


def set_status(subscriber: Subscriber, status: SubscriberStatus, now: datetime | None = None) -> bool:
    """Move the subscriber to ``status`` (a legal change, :mod:`.transitions`); False if already there."""
    if subscriber.status == status:
        return False
    transitions.check(subscriber.status, status)
    subscriber.status = status
    subscriber.unsubscribed_at = None if status == SubscriberStatus.ACTIVE else now or utcnow()
    if status == SubscriberStatus.UNSUBSCRIBED and (session := object_session(subscriber)) is not None:
        webhook_events.subscriber_event(session, "subscriber.unsubscribed", subscriber)  # in its transaction
    return True


def known(connection: Connection, addresses: Collection[str]) -> set[str]:
    """Which of these lower-cased addresses already belong to a subscriber."""
    return set(connection.execute(sa.select(_lowered).where(_lowered.in_(addresses))).scalars())


def insert_many(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new subscribers (dicts of columns) in the caller's transaction (a CSV import)."""
    if rows:
        connection.execute(sa.insert(Subscriber), list(rows))
        webhook_events.subscribers_created(connection, [str(row["email"]) for row in rows])


def active_page(engine: Engine, *, after: int, limit: int, now: datetime) -> list[Subscriber]:
    """Up to ``limit`` active subscribers not paused at ``now``, with ids above ``after``, in id order."""
    unpaused = sa.or_(col(Subscriber.paused_until).is_(None), col(Subscriber.paused_until) <= now)
    query = (
        select(Subscriber)
        .where(col(Subscriber.status) == SubscriberStatus.ACTIVE, col(Subscriber.id) > after, unpaused)
        .order_by(col(Subscriber.id))
        .limit(limit)
    )
    with session_scope(engine) as session:
        return list(session.exec(query))


def listed_page(engine: Engine, *, after: int, limit: int) -> list[tuple[Subscriber, str | None]]:
    """Up to ``limit`` subscribers (any status) with ids above ``after``, in id order, each with the
    suppression list's reason for its address (None: not on the list), read in one transaction."""
    query = select(Subscriber).where(col(Subscriber.id) > after).order_by(col(Subscriber.id)).limit(limit)
    with session_scope(engine) as session:
        page = list(session.exec(query))
        reasons = suppressions.reasons(session.connection(), (s.email for s in page))
    return [(s, reasons.get(suppressions.key(s.email))) for s in page]
