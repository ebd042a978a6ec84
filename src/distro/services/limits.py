"""Rate limits shared by every web process: a sliding window of events per key, kept in the database.

A limit held in one process's memory is a limit per process: behind four web workers "3 an hour" is 12,
and a restart forgets it. Here each allowed event is a row of ``ratelimitevent``, so every process counts
the same events. Only the SHA-256 of a key is stored, never the address or IP it names; the rows live one
window and are purged by later calls (a bounded, indexed delete on each call, so no job is needed).

Counting and recording are one transaction that serialises on the key (:mod:`distro.store.limits`), so N
concurrent calls allow exactly ``limit`` of them. A refused event is not recorded: a client that keeps
trying is let in again as soon as its oldest allowed event leaves the window, not locked out for ever.

Use one window per key (the purge trusts each row's own expiry). Keys name their purpose, e.g.
``signup:address:ana@example.org``; callers normalise what goes in them (:func:`address_key`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from distro.models import utcnow
from distro.store import limits


def key_hash(key: str) -> str:
    """What is stored for ``key``: its SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def address_key(purpose: str, address: str) -> str:
    """The key of a limit on an email address already normalised by
    :func:`~distro.services.subscribers.normalise_email` (NFKC, IDNA domain), case-folded whole so
    ``Bomb@Example.org`` and ``bomb@ｅxample.org`` share one limit."""
    return f"{purpose}:address:{address.casefold()}"


def allow(
    engine: Engine, key: str, *, limit: int, window_seconds: float, now: datetime | None = None
) -> bool:
    """Record one event for ``key`` and say whether it is within ``limit`` events in the last window."""
    now = now or utcnow()
    window = timedelta(seconds=window_seconds)
    return limits.record_within(
        engine, key_hash(key), limit=limit, since=now - window, now=now, expires=now + window
    )


def clear(engine: Engine, key: str) -> None:
    """Forget a key's events (e.g. after a successful sign-in)."""
    limits.clear(engine, key_hash(key))
