"""The database rate limiter: a sliding window per key, shared by engines (processes), exact under
concurrency, storing only a SHA-256 of each key. Runs on SQLite and PostgreSQL; instants are given."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from distro.db import make_engine, upgrade
from distro.models import RateLimitEvent
from distro.services.limits import address_key, allow, clear
from distro.services.subscribers import normalise_email

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HOUR = 3600.0


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url, pool_size=25)  # a connection per thread in the parallel test
    upgrade(made)
    yield made
    made.dispose()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def stored(engine: Engine) -> list[tuple[str, datetime]]:
    with engine.connect() as connection:
        table = RateLimitEvent.__table__  # type: ignore[attr-defined]
        query = sa.select(table.c.key_hash, table.c.at).order_by(table.c.id)
        return [(h, when.replace(tzinfo=UTC)) for h, when in connection.execute(query)]


def test_a_sliding_window_per_key_that_refusals_do_not_extend(engine: Engine) -> None:
    answers = [allow(engine, "k", limit=3, window_seconds=HOUR, now=at(s)) for s in (0, 10, 20, 30, 40)]
    assert answers == [True, True, True, False, False]
    assert allow(engine, "other", limit=3, window_seconds=HOUR, now=at(40))  # keys are separate
    assert not allow(engine, "k", limit=3, window_seconds=HOUR, now=at(HOUR - 1))
    # The first event leaves the window an hour after it: one more is allowed, not three (a window that
    # counted refusals, or reset every hour, would answer otherwise).
    later = [allow(engine, "k", limit=3, window_seconds=HOUR, now=at(HOUR + s)) for s in (0, 1)]
    assert later == [True, False]
    assert allow(engine, "k", limit=3, window_seconds=HOUR, now=at(HOUR + 10))


def test_only_a_sha256_of_the_key_is_stored_and_expired_rows_are_purged(engine: Engine) -> None:
    key = "signup:address:ana@example.org"
    assert allow(engine, key, limit=2, window_seconds=HOUR, now=at(0))
    assert allow(engine, "signup:ip:203.0.113.9", limit=2, window_seconds=60, now=at(0))
    digest = hashlib.sha256(key.encode()).hexdigest()
    with engine.connect() as connection:
        rows = [tuple(r) for r in connection.execute(sa.select(RateLimitEvent.__table__))]  # type: ignore[attr-defined]
    assert len(rows) == 2 and digest in rows[0]
    assert not any("ana" in str(v) or "203.0.113" in str(v) for row in rows for v in row)
    # Two hours on, any call (here for a third key) deletes both expired rows.
    assert allow(engine, "third", limit=1, window_seconds=HOUR, now=at(2 * HOUR))
    assert [h for h, _ in stored(engine)] == [hashlib.sha256(b"third").hexdigest()]


def test_clear_forgets_one_key_only(engine: Engine) -> None:
    for key in ("a", "a", "b"):
        allow(engine, key, limit=2, window_seconds=HOUR, now=at(0))
    assert not allow(engine, "a", limit=2, window_seconds=HOUR, now=at(1))
    clear(engine, "a")
    assert allow(engine, "a", limit=2, window_seconds=HOUR, now=at(2))
    assert not allow(engine, "b", limit=1, window_seconds=HOUR, now=at(2))


def test_two_engines_share_the_limit(engine: Engine, database_url: str) -> None:
    """Two engines are what two web processes have: what one allowed, the other counts."""
    second = make_engine(database_url)
    try:
        assert allow(engine, "k", limit=2, window_seconds=HOUR, now=at(0))
        assert allow(second, "k", limit=2, window_seconds=HOUR, now=at(1))
        assert not allow(engine, "k", limit=2, window_seconds=HOUR, now=at(2))
        assert not allow(second, "k", limit=2, window_seconds=HOUR, now=at(3))
    finally:
        second.dispose()


def test_twenty_parallel_calls_allow_exactly_the_limit(engine: Engine) -> None:
    """All twenty start together (a barrier) on connections already open; a count-then-insert without
    the per-key lock lets most of them through on PostgreSQL."""
    limit, threads = 7, 20
    start = threading.Barrier(threads)
    answers: list[bool] = []
    lock = threading.Lock()

    warm = [engine.connect() for _ in range(threads)]  # connected up front, so none waits to connect
    for connection in warm:
        connection.close()

    def call() -> None:
        start.wait(timeout=30)
        answer = allow(engine, "burst", limit=limit, window_seconds=HOUR, now=at(0))
        with lock:
            answers.append(answer)

    workers = [threading.Thread(target=call) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert len(answers) == threads
    assert answers.count(True) == limit
    assert len(stored(engine)) == limit


def test_an_address_key_is_the_normalised_address_whatever_its_form() -> None:
    forms = ["bomb@example.org", "bomb@ｅxample.org", "Bomb@EXAMPLE.org", " bomb@example.ORG "]
    assert {address_key("signup", normalise_email(f)) for f in forms} == {"signup:address:bomb@example.org"}
