"""The public archive's queries: the editions that went out and may be shown, newest first.

An edition is shown when it is queued (its rows exist, so it was sent or is being sent), its queueing time
has passed, an editor did not keep it out (``digest.archived``), and it belongs to one of the newsletters
asked for (the use cases pass only those whose ``archive`` setting is on). Lists read the few columns a list
shows; only one edition's page, or a feed, loads the HTML.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from distro.db import session_scope
from distro.errors import NotFound
from distro.models import Digest, DigestStatus
from distro.store import table


@dataclass(frozen=True, slots=True)
class ListedEdition:
    """One line of a list: what an edition is called and when it went out."""

    slug: str
    newsletter: str
    subject: str
    queued_at: datetime
    archived: bool = True


_G = table(Digest)
_LISTED = (_G.c.slug, _G.c.newsletter, _G.c.subject, _G.c.queued_at, _G.c.archived)
_NEWEST = (col(Digest.queued_at).desc(), col(Digest.id).desc())


def _shown(newsletters: Collection[str], now: datetime) -> tuple[Any, ...]:
    return (
        col(Digest.newsletter).in_(list(newsletters)),
        col(Digest.status) == DigestStatus.QUEUED,
        col(Digest.queued_at).is_not(None),
        col(Digest.queued_at) <= now,
        col(Digest.archived).is_(True),
    )


def _listed(row: Any) -> ListedEdition:
    return ListedEdition(row.slug, row.newsletter, row.subject, row.queued_at, row.archived)


def count(engine: Engine, newsletters: Collection[str], now: datetime) -> int:
    """How many editions of ``newsletters`` the archive shows at ``now``."""
    with session_scope(engine) as session:
        query = select(sa.func.count()).select_from(Digest).where(*_shown(newsletters, now))
        return int(session.exec(query).one())


def listed(
    engine: Engine, newsletters: Collection[str], now: datetime, *, limit: int, offset: int = 0
) -> list[ListedEdition]:
    """The shown editions of ``newsletters``, newest first, ``limit`` of them after ``offset``."""
    with session_scope(engine) as session:
        query = sa.select(*_LISTED).where(*_shown(newsletters, now)).order_by(*_NEWEST)
        return [_listed(row) for row in session.execute(query.limit(limit).offset(offset))]


def newest(engine: Engine, newsletters: Collection[str], now: datetime, *, limit: int) -> list[Digest]:
    """The ``limit`` newest shown editions with their HTML (a feed's entries)."""
    with session_scope(engine) as session:
        query = select(Digest).where(*_shown(newsletters, now)).order_by(*_NEWEST).limit(limit)
        return list(session.exec(query))


def shown(engine: Engine, slug: str, newsletters: Collection[str], now: datetime) -> Digest | None:
    """Edition ``slug`` if the archive shows it at ``now``, else None (unknown, unsent or kept out)."""
    with session_scope(engine) as session:
        query = select(Digest).where(Digest.slug == slug, *_shown(newsletters, now))
        return session.exec(query).first()


def sent(engine: Engine, newsletter: str, *, limit: int) -> list[ListedEdition]:
    """The newsletter's latest queued editions, shown or kept out: what the desk lets an editor switch."""
    with session_scope(engine) as session:
        query = (
            sa.select(*_LISTED)
            .where(col(Digest.newsletter) == newsletter, col(Digest.status) == DigestStatus.QUEUED)
            .order_by(*_NEWEST)
            .limit(limit)
        )
        return [_listed(row) for row in session.execute(query)]


def set_archived(engine: Engine, slug: str, archived: bool) -> Digest:
    """Show edition ``slug`` in the archive once sent, or keep it out; NotFound when there is none.

    Any edition may be switched, queued or not: its content is not touched, so the rule that a queued
    edition never changes holds.
    """
    with session_scope(engine) as session:
        digest = session.exec(select(Digest).where(Digest.slug == slug)).first()
        if digest is None:
            raise NotFound(f"no edition {slug!r} (distro digest preview composes the upcoming one)")
        digest.archived = archived
        session.add(digest)
        session.flush()
        session.refresh(digest)
        session.expunge(digest)
        return digest
