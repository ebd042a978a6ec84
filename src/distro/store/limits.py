"""Rate-limit events (:class:`~distro.models.RateLimitEvent`): one row per allowed event, keyed by a hash.

Atomicity: counting and inserting happen in one transaction that first serialises on the key, with
``pg_advisory_xact_lock`` on PostgreSQL (the two-integer form under a class id of our own, which does not
overlap the one-integer locks the scheduler's leader takes) and with SQLite's ``BEGIN IMMEDIATE`` (every
transaction of our engine takes the write lock, :mod:`distro.db`). So N concurrent calls allow exactly
``limit`` of them. Expired rows of any key are purged a bounded batch per call, so no job is needed.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from distro.db import is_postgres
from distro.models import RateLimitEvent

LOCK_CLASS = 0x6C696D74  # "limt": the advisory-lock class id of rate limits (first int4 of the pair)
PURGE_BATCH = 500  # at most this many expired rows deleted per call: the cost of a call stays bounded
# One round trip: the per-key lock, and a commit that does not wait for the disk (the flush of the WAL is
# most of a call's time). A PostgreSQL crash may forget the last fraction of a second of events, which
# only lets a few more through; what a call answers stays exact.
_PG_BEGIN = sa.text(
    "SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(:class_id, :key_id)"
)


def _lock_id(digest: str) -> int:
    """A signed 32-bit lock id from the key's digest (two keys sharing one only wait for each other)."""
    value = int(digest[:8], 16)
    return value - (1 << 32) if value >= 1 << 31 else value


def _purge(connection: Connection, now: datetime) -> None:
    """Delete up to PURGE_BATCH expired events of any key; on PostgreSQL rows another call is deleting
    are skipped, so two purges never wait for (or deadlock with) each other."""
    expired = (
        sa.select(col(RateLimitEvent.id)).where(col(RateLimitEvent.expires_at) <= now).limit(PURGE_BATCH)
    )
    if is_postgres(connection.engine):
        expired = expired.with_for_update(skip_locked=True)
    connection.execute(sa.delete(RateLimitEvent).where(col(RateLimitEvent.id).in_(expired.scalar_subquery())))


def record_within(
    engine: Engine, digest: str, *, limit: int, since: datetime, now: datetime, expires: datetime
) -> bool:
    """Record one event under ``digest`` if fewer than ``limit`` were recorded after ``since``; say whether
    it was (a refused event is not recorded)."""
    with engine.begin() as connection:
        if is_postgres(engine):
            connection.execute(_PG_BEGIN, {"class_id": LOCK_CLASS, "key_id": _lock_id(digest)})
        _purge(connection, now)
        mine = sa.and_(col(RateLimitEvent.key_hash) == digest, col(RateLimitEvent.at) > since)
        counted = sa.select(sa.func.count()).select_from(RateLimitEvent).where(mine)
        if int(connection.execute(counted).scalar_one()) >= limit:
            return False
        connection.execute(sa.insert(RateLimitEvent).values(key_hash=digest, at=now, expires_at=expires))
        return True


def clear(engine: Engine, digest: str) -> None:
    """Forget the events recorded under ``digest``."""
    with engine.begin() as connection:
        connection.execute(sa.delete(RateLimitEvent).where(col(RateLimitEvent.key_hash) == digest))
