"""Who an edition goes to: the one query that both counts ("Send to N?") and queues an edition.

A recipient is an active subscriber, not paused, who gets the newsletter (their choice, else its
default) and whose address is not on the suppression list (:mod:`.suppressions`). Subscribers are read a
keyset page at a time in id order, so a large list is never all in memory; each page is checked against
the suppression list in one query per 500 addresses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from distro.db import session_scope
from distro.models import Subscriber, SubscriberStatus, utcnow
from distro.settings import DigestSettings
from distro.store import suppressions

PAGE_SIZE = 1000


def _page(engine: Engine, after: int, size: int) -> list[Subscriber]:
    now = utcnow()
    unpaused = sa.or_(col(Subscriber.paused_until).is_(None), col(Subscriber.paused_until) <= now)
    with session_scope(engine) as session:
        query = (
            select(Subscriber)
            .where(Subscriber.status == SubscriberStatus.ACTIVE, col(Subscriber.id) > after, unpaused)
            .order_by(col(Subscriber.id))
            .limit(size)
        )
        return list(session.exec(query))


def _suppressed(engine: Engine, page: Sequence[Subscriber]) -> set[str]:
    with engine.connect() as connection:
        return set(suppressions.reasons(connection, (s.email for s in page)))


def recipients(
    engine: Engine, newsletter: DigestSettings, *, page_size: int = PAGE_SIZE
) -> Iterator[Subscriber]:
    """Every recipient of ``newsletter``'s editions, in id order (detached rows)."""
    last_id = 0
    while page := _page(engine, last_id, page_size):
        last_id = page[-1].id or last_id
        wanted = [s for s in page if newsletter.chosen_by(s.newsletters)]
        blocked = _suppressed(engine, wanted) if wanted else set()
        yield from (s for s in wanted if suppressions.key(s.email) not in blocked)


def count(engine: Engine, newsletter: DigestSettings) -> int:
    """How many :func:`recipients` there are now: what queueing an edition would queue."""
    return sum(1 for _ in recipients(engine, newsletter))


def reader(engine: Engine, email: str) -> Subscriber | None:
    """The subscriber with exactly this address (any status): whom a preview is addressed as."""
    with session_scope(engine) as session:
        return session.exec(select(Subscriber).where(Subscriber.email == email)).first()


def by_ids(engine: Engine, ids: Sequence[int]) -> list[Subscriber]:
    """The subscribers a batch of outbox rows is addressed to (any status: the builder decides)."""
    if not ids:
        return []
    with session_scope(engine) as session:
        return list(session.exec(select(Subscriber).where(col(Subscriber.id).in_(list(ids)))))
