"""Rate limits shared by every web process: a sliding window of events per key, kept in the database.

A limit held in one process's memory is a limit per process: behind four web workers "3 an hour" is 12,
and a restart forgets it. Here each allowed event is a row of ``ratelimitevent``, so every process counts
the same events. Only the SHA-256 of a key is stored, never the address or IP it names; the rows live one
window and are purged by later calls (a bounded, indexed delete on each call, so no job is needed).

Atomicity: counting and inserting happen in one transaction that first serialises on the key, with
``pg_advisory_xact_lock`` on PostgreSQL (the two-integer form under a class id of our own, which does not
overlap the one-integer locks the scheduler's leader takes) and with SQLite's ``BEGIN IMMEDIATE`` (every
transaction of our engine takes the write lock, :mod:`distro.db`). So N concurrent calls allow exactly
``limit`` of them. A refused event is not recorded: a client that keeps trying is let in again as soon as
its oldest allowed event leaves the window, not locked out for ever.

Use one window per key (the purge trusts each row's own expiry). Keys name their purpose, e.g.
``signup:address:ana@example.org``; callers normalise what goes in them (:func:`address_key`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from distro.db import is_postgres
from distro.models import RateLimitEvent, utcnow

T = RateLimitEvent.__table__  # type: ignore[attr-defined]
LOCK_CLASS = 0x6C696D74  # "limt": the advisory-lock class id of rate limits (first int4 of the pair)
PURGE_BATCH = 500  # at most this many expired rows deleted per call: the cost of a call stays bounded
# One round trip: the per-key lock, and a commit that does not wait for the disk (the flush of the WAL is
# most of a call's time). A PostgreSQL crash may forget the last fraction of a second of events, which
# only lets a few more through; what a call answers stays exact.
_PG_BEGIN = sa.text(
    "SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock(:class_id, :key_id)"
)


def key_hash(key: str) -> str:
    """What is stored for ``key``: its SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def address_key(purpose: str, address: str) -> str:
    """The key of a limit on an email address already normalised by
    :func:`~distro.services.subscribers.normalise_email` (NFKC, IDNA domain), case-folded whole so
    ``Bomb@Example.org`` and ``bomb@ｅxample.org`` share one limit."""
    return f"{purpose}:address:{address.casefold()}"


def _lock_id(digest: str) -> int:
    """A signed 32-bit lock id from the key's digest (two keys sharing one only wait for each other)."""
    value = int(digest[:8], 16)
    return value - (1 << 32) if value >= 1 << 31 else value


def _purge(connection: Connection, now: datetime) -> None:
    """Delete up to PURGE_BATCH expired events of any key; on PostgreSQL rows another call is deleting
    are skipped, so two purges never wait for (or deadlock with) each other."""
    expired = sa.select(T.c.id).where(T.c.expires_at <= now).limit(PURGE_BATCH)
    if is_postgres(connection.engine):
        expired = expired.with_for_update(skip_locked=True)
    connection.execute(sa.delete(T).where(T.c.id.in_(expired.scalar_subquery())))


def allow(
    engine: Engine, key: str, *, limit: int, window_seconds: float, now: datetime | None = None
) -> bool:
    """Record one event for ``key`` and say whether it is within ``limit`` events in the last window."""
    now = now or utcnow()
    digest = key_hash(key)
    with engine.begin() as connection:
        if is_postgres(engine):
            connection.execute(_PG_BEGIN, {"class_id": LOCK_CLASS, "key_id": _lock_id(digest)})
        _purge(connection, now)
        since = now - timedelta(seconds=window_seconds)
        counted = sa.select(sa.func.count()).select_from(T).where(T.c.key_hash == digest, T.c.at > since)
        if int(connection.execute(counted).scalar_one()) >= limit:
            return False
        expires = now + timedelta(seconds=window_seconds)
        connection.execute(sa.insert(T).values(key_hash=digest, at=now, expires_at=expires))
        return True


def clear(engine: Engine, key: str) -> None:
    """Forget a key's events (e.g. after a successful sign-in)."""
    with engine.begin() as connection:
        connection.execute(sa.delete(T).where(T.c.key_hash == key_hash(key)))
