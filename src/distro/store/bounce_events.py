"""Bounce and complaint events: one row per report and address; every function that writes runs inside the
caller's transaction, so an event and what it did (a suppression, an unsubscribe) commit together."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from distro.models import BounceEvent, Delivery
from distro.store import table
from distro.store.suppressions import Bounce, key

E, _D = table(BounceEvent), table(Delivery)


def report_key(report_id: str, email: str) -> str:
    """The unique key of one report about one address (a report can name several addresses)."""
    return hashlib.sha256(f"{report_id}\x00{key(email)}".encode()).hexdigest()


def insert(connection: Connection, values: dict[str, Any]) -> int | None:
    """Insert one event (``email`` already a :func:`key`); its id, or None when its ``report_key`` is
    already there (the same report read again)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(BounceEvent).values(**values).on_conflict_do_nothing(index_elements=["report_key"])
    )
    return connection.execute(statement.returning(E.c.id)).scalar_one_or_none()


def set_action(connection: Connection, event_id: int, action: str) -> None:
    connection.execute(sa.update(BounceEvent).where(E.c.id == event_id).values(action=action))


def count_since(connection: Connection, email: str, kind: str, since: datetime) -> int:
    """How many ``kind`` events the address had since ``since`` (the soft-bounce window)."""
    query = sa.select(sa.func.count()).select_from(BounceEvent)
    query = query.where(E.c.email == key(email), E.c.kind == kind, E.c.created_at >= since)
    return int(connection.execute(query).scalar_one())


def recent(
    engine: Engine, *, email: str | None = None, kind: str | None = None, limit: int = 200
) -> Sequence[BounceEvent]:
    """The newest events first, optionally of one address or kind."""
    query = select(BounceEvent)
    if email is not None:
        query = query.where(col(BounceEvent.email) == key(email))
    if kind is not None:
        query = query.where(col(BounceEvent.kind) == kind)
    with Session(engine) as session:
        return session.exec(query.order_by(col(BounceEvent.id).desc()).limit(limit)).all()


def latest_for_deliveries(engine: Engine, delivery_ids: Collection[int]) -> dict[int, BounceEvent]:
    """The newest event of each of these deliveries (a delivery sent, then bounced, shows as bounced)."""
    if not delivery_ids:
        return {}
    query = select(BounceEvent).where(col(BounceEvent.delivery_id).in_(list(delivery_ids)))
    with Session(engine) as session:
        events = session.exec(query.order_by(col(BounceEvent.id))).all()
    return {event.delivery_id: event for event in events if event.delivery_id is not None}


def of_reader(session: Session, email: str) -> Sequence[BounceEvent]:
    return session.exec(select(BounceEvent).where(col(BounceEvent.email) == key(email))).all()


def delete_for(session: Session, email: str, subscriber_id: int | None) -> int:
    """Delete a forgotten reader's events (they name the address); how many."""
    wanted = col(BounceEvent.email) == key(email)
    if subscriber_id is not None:
        wanted = sa.or_(wanted, col(BounceEvent.subscriber_id) == subscriber_id)
    return int(session.execute(sa.delete(BounceEvent).where(wanted)).rowcount)  # type: ignore[attr-defined]


_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


def record_refusals(
    connection: Connection, bounces: Sequence[Bounce], suppressed: Collection[str], now: datetime
) -> None:
    """Events for recipients refused at RCPT time (source ``smtp``), in the transaction that counted them."""
    for bounce in bounces:
        email = key(bounce.email)
        found = _STATUS.search(bounce.detail)
        insert(
            connection,
            {
                "email": email,
                "kind": "hard",
                "status": found.group(1) if found else None,
                "diagnostic": " ".join(bounce.detail.split())[:500],
                "source": "smtp",
                "delivery_id": bounce.delivery_id,
                "subscriber_id": bounce.subscriber_id,
                "action": "suppressed" if email in suppressed else "counted",
                "report_key": report_key(f"smtp:{bounce.delivery_id}", email) if bounce.delivery_id else None,
                "created_at": now,
            },
        )


def came_back(engine: Engine, digest_id: int, *, at_send_too: bool = False) -> dict[str, int]:
    """Addresses per kind among an edition's deliveries that came back after the relay took them (DSNs,
    ARF reports, provider webhooks); ``at_send_too`` adds refusals at send time (source smtp)."""
    query = (
        sa.select(E.c.kind, sa.func.count(sa.distinct(E.c.email)))
        .select_from(E.join(_D, _D.c.id == E.c.delivery_id))
        .where(_D.c.digest_id == digest_id)
        .group_by(E.c.kind)
    )
    if not at_send_too:
        query = query.where(E.c.source != "smtp")
    with engine.connect() as connection:
        return {str(kind): int(count) for kind, count in connection.execute(query)}
