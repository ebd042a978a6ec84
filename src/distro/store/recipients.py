"""Who an edition goes to: the one query that both counts ("Send to N?") and queues an edition.

A recipient is an active subscriber, not paused, who gets the newsletter (their choice, else its
default) and whose address is not on the suppression list (:mod:`.suppressions`). Subscribers are read a
keyset page at a time in id order as plain rows (not ORM objects), so a large list is never all in memory;
each page is checked against the suppression list in one query per 500 addresses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import select

from distro.db import session_scope
from distro.models import Subscriber, SubscriberStatus, utcnow
from distro.settings import DigestSettings
from distro.store import suppressions, table

PAGE_SIZE = 1000


class Recipient(NamedTuple):
    """What queueing needs of a reader (a plain row: an ORM object per reader was most of a read)."""

    id: int
    email: str
    sections: list[str] | None
    newsletters: list[str] | None


_S = table(Subscriber)
_COLUMNS = (_S.c.id, _S.c.email, _S.c.sections, _S.c.newsletters)


def _page(connection: Connection, after: int, size: int) -> list[Recipient]:
    now = utcnow()
    unpaused = sa.or_(_S.c.paused_until.is_(None), _S.c.paused_until <= now)
    query = (
        sa.select(*_COLUMNS)
        .where(_S.c.status == SubscriberStatus.ACTIVE, _S.c.id > after, unpaused)
        .order_by(_S.c.id)
        .limit(size)
    )
    return [Recipient(*row) for row in connection.execute(query)]


def recipients(
    engine: Engine, newsletter: DigestSettings, *, page_size: int = PAGE_SIZE
) -> Iterator[Recipient]:
    """Every recipient of ``newsletter``'s editions, in id order (a connection per page, none held)."""
    last_id = 0
    while True:
        with engine.connect() as connection:
            page = _page(connection, last_id, page_size)
            if not page:
                return
            wanted = [s for s in page if newsletter.chosen_by(s.newsletters)]
            blocked = set(suppressions.reasons(connection, (s.email for s in wanted))) if wanted else set()
        last_id = page[-1].id
        yield from (s for s in wanted if suppressions.key(s.email) not in blocked)


def count(engine: Engine, newsletter: DigestSettings) -> int:
    """How many :func:`recipients` there are now: what queueing an edition would queue."""
    return sum(1 for _ in recipients(engine, newsletter))


def reader(engine: Engine, email: str) -> Subscriber | None:
    """The subscriber with exactly this address (any status): whom a preview is addressed as."""
    with session_scope(engine) as session:
        return session.exec(select(Subscriber).where(Subscriber.email == email)).first()


class Addressee(NamedTuple):
    """What building a reader's copy needs of them (a plain row, read once per claimed batch)."""

    id: int
    status: SubscriberStatus
    name: str | None
    sections: list[str] | None
    newsletters: list[str] | None


def by_ids(engine: Engine, ids: Sequence[int]) -> list[Addressee]:
    """The subscribers a batch of outbox rows is addressed to (any status: the builder decides)."""
    if not ids:
        return []
    columns = (_S.c.id, _S.c.status, _S.c.name, _S.c.sections, _S.c.newsletters)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(*columns).where(_S.c.id.in_(list(ids))))
        return [Addressee(*row) for row in rows]
