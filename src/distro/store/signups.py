"""Pending sign-ups and address changes (:class:`~distro.models.Signup`), until confirmed or expired.

A use case holding a confirmation's transaction gets and deletes rows through its session; the queries
that touch several rows are here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from distro.db import session_scope
from distro.models import Signup, utcnow


def purge_expired(engine: Engine, now: datetime | None = None) -> int:
    """Delete sign-ups nobody confirmed in time (they hold an address that never consented)."""
    with engine.begin() as connection:
        expired = sa.delete(Signup).where(col(Signup.expires_at) < (now or utcnow()))
        return int(connection.execute(expired).rowcount or 0)


def add(engine: Engine, signup: Signup) -> Signup:
    """Store a new sign-up; returns it with its id."""
    with session_scope(engine) as session:
        session.add(signup)
        session.flush()
        return signup


def drop_other_changes(session: Session, subscriber_id: int, *, keep: int | None) -> None:
    """Delete the subscription's pending address changes except ``keep`` (it moved: they were approved
    from an address it no longer has)."""
    others = sa.delete(Signup).where(col(Signup.subscriber_id) == subscriber_id, col(Signup.id) != keep)
    session.execute(others)


def _theirs(address: str, subscriber_id: int | None) -> Any:
    """Sign-ups for ``address`` (any case) and, with a subscriber, the address changes it asked for."""
    mine = sa.func.lower(col(Signup.email)) == address.lower()
    return mine if subscriber_id is None else sa.or_(mine, col(Signup.subscriber_id) == subscriber_id)


def for_address(session: Session, address: str, subscriber_id: int | None) -> Sequence[Signup]:
    return session.exec(select(Signup).where(_theirs(address, subscriber_id))).all()


def delete_for(session: Session, address: str, subscriber_id: int | None) -> int:
    """Delete :func:`for_address`'s rows; how many went."""
    statement = sa.delete(Signup).where(_theirs(address, subscriber_id))
    return int(session.connection().execute(statement).rowcount or 0)
