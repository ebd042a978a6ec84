"""The desk's subscriber search: by address or name, status, newsletter and section, newest first, a keyset
page at a time, each row with its suppression reason (one query, one join on the list's lower-cased key).

Lists of sections and newsletters are JSON text; a choice is matched as its JSON string inside it (the
form SQLAlchemy writes on both databases), and "no choice" (SQL NULL or JSON null) means every section or
the newsletters that are on by default.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from distro.db import session_scope
from distro.models import Signup, Subscriber, SubscriberStatus, Suppression, SuppressionReason

STATUSES = ("active", "paused", "unconfirmed", "unsubscribed", "bounced", "complained", "suppressed")
_BOUNCES = (SuppressionReason.HARD_BOUNCE.value, SuppressionReason.SOFT_BOUNCE.value)


@dataclass(frozen=True, slots=True)
class Wanted:
    """What the desk asks for; empty strings mean "any"."""

    q: str = ""
    status: str = ""
    newsletter: str = ""  # a slug prefix
    newsletter_by_default: bool = False  # whether readers who chose nothing get that newsletter
    section: str = ""


def _unchosen(column: Any) -> Any:
    return sa.or_(column.is_(None), sa.cast(column, sa.Text) == "null")


def _chose(column: Any, value: str) -> Any:
    return sa.cast(column, sa.Text).contains(json.dumps(value), autoescape=True)


def _status(wanted: str, now: datetime) -> Any:
    reason = col(Suppression.reason)
    listed = col(Suppression.id).is_not(None)
    active = sa.and_(col(Subscriber.status) == SubscriberStatus.ACTIVE, ~listed)
    paused = sa.and_(col(Subscriber.paused_until).is_not(None), col(Subscriber.paused_until) > now)
    return {
        "active": sa.and_(active, ~paused),
        "paused": sa.and_(active, paused),
        "unsubscribed": sa.and_(col(Subscriber.status) == SubscriberStatus.UNSUBSCRIBED, ~listed),
        "bounced": reason.in_(_BOUNCES),
        "complained": reason == SuppressionReason.COMPLAINT.value,
        "suppressed": sa.and_(listed, reason.not_in([*_BOUNCES, SuppressionReason.COMPLAINT.value])),
    }[wanted]


def search(
    engine: Engine, wanted: Wanted, *, before: int | None, limit: int, now: datetime
) -> list[tuple[Subscriber, str | None]]:
    """Up to ``limit`` subscribers matching ``wanted`` with ids below ``before``, newest first, each with
    its suppression reason (None: not on the list)."""
    query = select(Subscriber, col(Suppression.reason)).outerjoin(
        Suppression, col(Suppression.email) == sa.func.lower(col(Subscriber.email))
    )
    if wanted.q:
        needle = wanted.q.lower()
        query = query.where(
            sa.or_(
                sa.func.lower(col(Subscriber.email)).contains(needle, autoescape=True),
                sa.func.lower(sa.func.coalesce(col(Subscriber.name), "")).contains(needle, autoescape=True),
            )
        )
    if wanted.status:
        query = query.where(_status(wanted.status, now))
    if wanted.newsletter:
        chose = _chose(col(Subscriber.newsletters), wanted.newsletter)
        query = query.where(
            sa.or_(chose, _unchosen(col(Subscriber.newsletters))) if wanted.newsletter_by_default else chose
        )
    if wanted.section:
        query = query.where(
            sa.or_(_chose(col(Subscriber.sections), wanted.section), _unchosen(col(Subscriber.sections)))
        )
    if before is not None:
        query = query.where(col(Subscriber.id) < before)
    query = query.order_by(col(Subscriber.id).desc()).limit(limit)
    with session_scope(engine) as session:
        rows: list[tuple[Subscriber, str | None]] = [(s, reason) for s, reason in session.exec(query)]
        for subscriber, _ in rows:
            session.expunge(subscriber)
        return rows


def unconfirmed(engine: Engine, q: str, *, before: int | None, limit: int) -> Sequence[Signup]:
    """Sign-ups still waiting for their confirmation click (new readers, not address changes)."""
    query = select(Signup).where(col(Signup.subscriber_id).is_(None))
    if q:
        needle = q.lower()
        query = query.where(
            sa.or_(
                sa.func.lower(col(Signup.email)).contains(needle, autoescape=True),
                sa.func.lower(sa.func.coalesce(col(Signup.name), "")).contains(needle, autoescape=True),
            )
        )
    if before is not None:
        query = query.where(col(Signup.id) < before)
    with session_scope(engine) as session:
        rows = list(session.exec(query.order_by(col(Signup.id).desc()).limit(limit)))
        for row in rows:
            session.expunge(row)
        return rows


def reason_of(engine: Engine, email: str) -> Suppression | None:
    """The address's entry on the suppression list, if any."""
    with session_scope(engine) as session:
        found = session.exec(
            select(Suppression).where(col(Suppression.email) == email.strip().lower())
        ).first()
        if found is not None:
            session.expunge(found)
        return found
