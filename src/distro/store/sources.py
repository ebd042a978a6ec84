"""Source rows: one per configured (or ad hoc) source, with its poll state (validators, last error, next
poll, where a permanent redirect moved it); and the entries of sources added on the desk (``desk_source``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from distro.db import session_scope
from distro.models import DeskSource, Source
from distro.settings import SourceSettings


def named(session: Session, name: str, *, url: str, kind: str) -> Source:
    """The source called ``name``, created (with ``url`` and ``kind``) when it is new."""
    row = session.exec(select(Source).where(col(Source.name) == name)).first()
    if row is None:
        row = Source(name=name, url=url, kind=kind)
        session.add(row)
        session.flush()
    return row


def record_failure(
    engine: Engine, source_id: int | None, *, now: datetime, error: str, next_poll: datetime
) -> None:
    """A failed poll: when it was, why (no URL credentials in ``error``), and when to poll again."""
    failed = sa.update(Source).where(col(Source.id) == source_id)
    with session_scope(engine) as session:
        session.execute(failed.values(last_polled_at=now, last_error=error, next_poll_at=next_poll))


def every(engine: Engine) -> list[Source]:
    """Every source polled or pushed to so far, by name."""
    with session_scope(engine) as session:
        return list(session.exec(select(Source).order_by(col(Source.name))))


def failing(engine: Engine, names: Collection[str]) -> set[str]:
    """Which of these sources' last poll failed."""
    query = sa.select(col(Source.name), col(Source.last_error)).where(col(Source.name).in_(list(names)))
    with engine.connect() as connection:
        return {name for name, error in connection.execute(query) if error}


def desk_entries(engine: Engine, *, paused: bool | None = None) -> list[DeskSource]:
    """Sources added on the desk, by name; only the paused (or unpaused) ones when ``paused`` is given."""
    query = select(DeskSource).order_by(col(DeskSource.name))
    if paused is not None:
        query = query.where(col(DeskSource.paused).is_(paused))
    with session_scope(engine) as session:
        return list(session.exec(query))


def desk_entry(session: Session, name: str) -> DeskSource | None:
    return session.exec(select(DeskSource).where(col(DeskSource.name) == name)).first()


def as_settings(entry: DeskSource, *, private_allowed: bool) -> SourceSettings:
    """A desk source as a ``[[sources]]`` entry, so polling it is polling any source; private addresses
    only while the operator still allows them for desk sources."""
    return SourceSettings(
        name=entry.name,
        url=entry.url,
        kind=entry.kind,  # type: ignore[arg-type]  # checked when it was added
        user_agent=entry.user_agent,
        headers={str(k): str(v) for k, v in entry.headers.items()},
        timeout=entry.timeout,
        max_bytes=entry.max_bytes,
        backfill=entry.backfill,
        allow_private_addresses=entry.allow_private_addresses and private_allowed,
    )


def by_name(session: Session, name: str) -> Source | None:
    """The poll state of the source called ``name``, None when it was never polled."""
    return session.exec(select(Source).where(col(Source.name) == name)).first()
