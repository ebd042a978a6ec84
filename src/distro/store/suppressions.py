"""The suppression list's rows, and the hard-bounce count that fills it; every function runs inside the
caller's transaction (the outbox counts bounces inside the one that records the attempts).

Addresses are stored and compared by :func:`key` (stripped, lower-cased): the list is about mailboxes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from distro.models import Subscriber, Suppression, SuppressionReason, utcnow

PAGE = 500  # addresses per IN (...) list


def key(email: str) -> str:
    """How an address is stored and compared on the list."""
    return email.strip().lower()


def insert(connection: Connection, values: Sequence[dict[str, Any]]) -> int:
    """Insert rows (``email`` already a :func:`key`), keeping the first reason an address got; return how
    many were new."""
    if not values:
        return 0
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Suppression).values(list(values))
    statement = statement.on_conflict_do_nothing(index_elements=["email"])
    return len(connection.execute(statement.returning(col(Suppression.id))).fetchall())


def add(
    connection: Connection,
    email: str,
    reason: SuppressionReason,
    detail: str | None,
    now: datetime | None = None,
) -> bool:
    """Put one address on the list; False if it was already there (its first reason is kept)."""
    row = {"email": key(email), "reason": reason, "detail": detail, "created_at": now or utcnow()}
    return insert(connection, [row]) == 1


def remove(connection: Connection, email: str) -> bool:
    """Take an address off the list and reset its subscriber's hard-bounce count; False if it was not on."""
    removed = connection.execute(sa.delete(Suppression).where(col(Suppression.email) == key(email))).rowcount
    connection.execute(
        sa.update(Subscriber).where(sa.func.lower(col(Subscriber.email)) == key(email)).values(hard_bounces=0)
    )
    return bool(removed)


def reasons(connection: Connection, emails: Iterable[str]) -> dict[str, str]:
    """The given addresses that are on the list, as :func:`key`, with their reason; a page at a time."""
    wanted = sorted({key(e) for e in emails})
    found: dict[str, str] = {}
    for start in range(0, len(wanted), PAGE):
        chunk = wanted[start : start + PAGE]
        query = sa.select(col(Suppression.email), col(Suppression.reason))
        rows = connection.execute(query.where(_among(connection, chunk)))
        found.update({email: reason for email, reason in rows})
    return found


def _among(connection: Connection, emails: list[str]) -> Any:
    """``email IN (...)``; on PostgreSQL ``= ANY(array)``, one short statement whatever the page's size
    (psycopg rewrites a statement of 500 parameters on every call instead of caching it)."""
    if connection.dialect.name == "postgresql":
        return col(Suppression.email) == sa.any_(
            sa.cast(sa.bindparam("emails", emails), postgresql.ARRAY(sa.Text))
        )
    return col(Suppression.email).in_(emails)


def entry(session: Session, email: str) -> Suppression | None:
    """The list's row for an address, if any (a subscriber's data export)."""
    return session.exec(select(Suppression).where(col(Suppression.email) == key(email))).first()


@dataclass(frozen=True, slots=True)
class Bounce:
    """One hard bounce to count: the delivery's subscriber (if any), its address, the server's reply."""

    subscriber_id: int | None
    email: str
    detail: str
    delivery_id: int | None = None


def count_bounces(connection: Connection, bounces: Sequence[Bounce], *, limit: int) -> list[str]:
    """Count each bounce on its subscriber, suppress addresses at ``limit``; return the new suppressions.

    Runs inside the caller's transaction (the outbox's ``record``), so it commits with the attempt log.
    A bounce for an address that is not a subscriber suppresses at once: there is nothing to count on.
    """
    reached: dict[str, str] = {}
    for bounce in bounces:
        count = limit
        if bounce.subscriber_id is not None:
            count = _add_hard_bounce(connection, bounce.subscriber_id) or limit
        if count >= limit:
            reached.setdefault(key(bounce.email), f"{count} hard bounce(s); last: {bounce.detail}"[:2000])
    now = utcnow()
    rows = [
        {"email": email, "reason": SuppressionReason.HARD_BOUNCE, "detail": detail, "created_at": now}
        for email, detail in reached.items()
    ]
    insert(connection, rows)
    return list(reached)


def _add_hard_bounce(connection: Connection, subscriber_id: int) -> int | None:
    """One more hard bounce on the subscriber; their new count (None: no such subscriber)."""
    counted = (
        sa.update(Subscriber)
        .where(col(Subscriber.id) == subscriber_id)
        .values(hard_bounces=col(Subscriber.hard_bounces) + 1)
        .returning(col(Subscriber.hard_bounces))
    )
    return connection.execute(counted).scalar_one_or_none()


def listed(engine: Engine, *, reason: str | None = None, limit: int = 1000) -> Sequence[Suppression]:
    """The newest entries first, optionally of one reason."""
    query = select(Suppression)
    if reason is not None:
        query = query.where(col(Suppression.reason) == reason)
    with Session(engine) as session:
        return session.exec(query.order_by(col(Suppression.id).desc()).limit(limit)).all()
