"""Transactional emails rendered whole (:class:`~distro.models.OneOffMessage`): confirmations, welcomes.
Each is queued as the outbox row ``msg:<id>``."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from distro.db import session_scope
from distro.models import OneOffMessage


def add(engine: Engine, recipient: str, data: bytes) -> int:
    """Store a rendered (ASCII) message; returns its id."""
    with session_scope(engine) as session:
        message = OneOffMessage(recipient=recipient, data=data.decode("ascii"))
        session.add(message)
        session.flush()
        return message.id or 0


def _to(address: str) -> sa.ColumnElement[bool]:
    return sa.func.lower(col(OneOffMessage.recipient)) == address.lower()


def for_recipient(session: Session, address: str) -> Sequence[OneOffMessage]:
    return session.exec(select(OneOffMessage).where(_to(address))).all()


def delete_for(session: Session, address: str) -> int:
    """Delete the messages stored for ``address`` (any case); how many went."""
    statement = sa.delete(OneOffMessage).where(_to(address))
    return int(session.connection().execute(statement).rowcount or 0)


def stored_bytes(engine: Engine, ids: Sequence[int]) -> dict[int, bytes]:
    """The stored wire bytes of one-off messages by id; a deleted one (subscriber forgotten) is missing."""
    if not ids:
        return {}
    with Session(engine) as session:
        query = select(OneOffMessage).where(col(OneOffMessage.id).in_(list(ids)))
        return {m.id or 0: m.data.encode("ascii") for m in session.exec(query)}
