"""WebSub subscriptions (:class:`~distro.models.WebSubSubscription`): one per feed topic."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from distro.db import session_scope
from distro.models import WebSubSubscription


def by_topic(session: Session, topic: str) -> WebSubSubscription | None:
    return session.exec(select(WebSubSubscription).where(col(WebSubSubscription.topic) == topic)).first()


def get(engine: Engine, subscription_id: int) -> WebSubSubscription | None:
    with session_scope(engine) as session:
        return session.get(WebSubSubscription, subscription_id)


def one(engine: Engine, subscription_id: int) -> WebSubSubscription:
    """The subscription with this id (it exists: rows are never deleted)."""
    with session_scope(engine) as session:
        return session.get_one(WebSubSubscription, subscription_id)


def every(engine: Engine) -> list[WebSubSubscription]:
    with session_scope(engine) as session:
        return list(session.exec(select(WebSubSubscription)))


def states(engine: Engine) -> dict[str, str]:
    """Each source's subscription state (``pending``, ``active``, ``denied``, ``failed``), by source name."""
    return {s.source_name: s.state for s in every(engine)}
