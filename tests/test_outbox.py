"""Outbox contract, run on SQLite and on the real PostgreSQL: idempotent enqueue, exclusive leases,
reclaim after a crash, outcomes and the attempt log."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.engine import Engine

from distro import outbox
from distro.db import make_engine, upgrade
from distro.models import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus, utcnow
from distro.outbox import Outcome
from distro.settings import DispatchSettings
from distro.store.pauses import paused_until

D = Delivery.__table__  # type: ignore[attr-defined]
A = DeliveryAttempt.__table__  # type: ignore[attr-defined]
SETTINGS = DispatchSettings(max_attempts=3, backoff_base_seconds=10, backoff_max_seconds=100)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def rows(n: int, channel: str = "email", prefix: str = "k") -> list[dict[str, object]]:
    return [{"key": f"{prefix}{i}", "channel": channel, "recipient": f"r{i}@example.org"} for i in range(n)]


def statuses(engine: Engine) -> dict[str, str]:
    with engine.connect() as c:
        return {key: status for key, status in c.execute(sa.select(D.c.key, D.c.status))}


def attempts_of(engine: Engine, key: str) -> list[tuple[int, str, str]]:
    query = (
        sa.select(A.c.number, A.c.outcome, A.c.worker)
        .join(D, D.c.id == A.c.delivery_id)
        .where(D.c.key == key)
        .order_by(A.c.id)
    )
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(query)]  # type: ignore[misc]


def test_enqueue_is_idempotent(engine: Engine) -> None:
    assert outbox.enqueue_many(engine, rows(1200)) == 1200
    assert outbox.enqueue_many(engine, rows(1300)) == 100
    assert len(statuses(engine)) == 1300


def test_rows_of_several_shapes_in_one_call_are_stored_as_given(engine: Engine) -> None:
    """Digest rows and a social row queued as failed (another set of columns) in one call; values that
    are NULL in every row of a shape, a non-ASCII address and duplicates within the call."""
    now = utcnow().replace(microsecond=0)
    digest = [
        {"key": f"d{i}", "channel": "email", "recipient": f"lé{i}@example.org", "digest_id": None}
        for i in range(3)
    ]
    failed = {"key": "s1", "channel": "x", "recipient": "@desk", "status": DeliveryStatus.FAILED}
    failed |= {"last_error": "too long: 291 of 280", "next_attempt_at": now}
    assert outbox.enqueue_many(engine, [*digest, failed, digest[0]]) == 4
    assert outbox.enqueue_many(engine, [failed, *digest]) == 0
    with engine.connect() as c:
        stored = {r.key: r for r in c.execute(sa.select(D))}
    assert stored["d2"].recipient == "lé2@example.org" and stored["d2"].status == DeliveryStatus.PENDING
    assert stored["d2"].attempts == 0 and stored["d2"].digest_id is None
    assert stored["s1"].status == DeliveryStatus.FAILED and stored["s1"].last_error == "too long: 291 of 280"
    assert stored["s1"].next_attempt_at == now


def test_concurrent_enqueue_creates_one_row_per_key(engine: Engine) -> None:
    created: list[int] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        created.append(outbox.enqueue_many(engine, rows(300)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(created) == 300
    assert len(statuses(engine)) == 300


def test_claim_hands_each_row_to_one_worker(engine: Engine) -> None:
    outbox.enqueue_many(engine, rows(500))
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def worker(name: str) -> None:
        barrier.wait()
        mine: list[int] = []
        while batch := outbox.claim(engine, channel="email", worker=name, limit=7, lease_seconds=60):
            mine += [c.id for c in batch]
        claimed[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for ids in claimed.values() for i in ids]
    assert len(every) == 500 and len(set(every)) == 500
    assert set(statuses(engine).values()) == {DeliveryStatus.SENDING}


def test_claim_only_its_channel_and_due_rows(engine: Engine) -> None:
    outbox.enqueue_many(engine, rows(3, "email", "e") + rows(2, "x", "x"))
    later = utcnow() + timedelta(hours=1)
    outbox.enqueue_many(
        engine, [{"key": "future", "channel": "x", "recipient": "main", "next_attempt_at": later}]
    )
    assert {c.key for c in outbox.claim(engine, channel="x", worker="w", limit=10, lease_seconds=60)} == {
        "x0",
        "x1",
    }


def test_expired_lease_is_reclaimed_and_logged_as_abandoned(engine: Engine) -> None:
    outbox.enqueue_many(engine, rows(2))
    first = outbox.claim(engine, channel="email", worker="dead", limit=10, lease_seconds=30)
    assert len(first) == 2
    assert outbox.claim(engine, channel="email", worker="live", limit=10, lease_seconds=30) == []
    later = utcnow() + timedelta(seconds=31)
    second = outbox.claim(engine, channel="email", worker="live", limit=10, lease_seconds=30, now=later)
    assert [c.attempt for c in second] == [2, 2]
    assert attempts_of(engine, "k0") == [(1, AttemptOutcome.ABANDONED, "dead")]


def test_outcomes_move_rows_and_log_every_attempt(engine: Engine) -> None:
    outbox.enqueue_many(engine, rows(4))
    batch = outbox.claim(engine, channel="email", worker="w", limit=10, lease_seconds=60)
    by_key = {c.key: c for c in batch}
    outbox.record(
        engine,
        [
            Outcome(by_key["k0"], AttemptOutcome.SENT, provider_id="queued-1"),
            Outcome(by_key["k1"], AttemptOutcome.PERMANENT, error="550 no such user"),
            Outcome(by_key["k2"], AttemptOutcome.RATE_LIMITED, error="429", retry_after=900),
            Outcome(by_key["k3"], AttemptOutcome.SUPPRESSED, error="unsubscribed"),
        ],
        worker="w",
        settings=SETTINGS,
    )
    assert statuses(engine) == {"k0": "sent", "k1": "failed", "k2": "pending", "k3": "suppressed"}
    with engine.connect() as c:
        row = c.execute(sa.select(D).where(D.c.key == "k2")).one()
        sent = c.execute(sa.select(D).where(D.c.key == "k0")).one()
    assert row.next_attempt_at > utcnow() + timedelta(seconds=890)
    assert row.last_error == "429" and row.lease_owner is None
    assert sent.provider_id == "queued-1" and sent.sent_at is not None
    assert attempts_of(engine, "k1") == [(1, AttemptOutcome.PERMANENT, "w")]


def test_temporary_failures_back_off_then_give_up(engine: Engine) -> None:
    outbox.enqueue_many(engine, rows(1))
    now = utcnow()
    for attempt in range(1, 4):
        now += timedelta(hours=1)
        (claimed,) = outbox.claim(engine, channel="email", worker="w", limit=1, lease_seconds=60, now=now)
        assert claimed.attempt == attempt
        outbox.record(
            engine,
            [Outcome(claimed, AttemptOutcome.TEMPORARY, error="451 try later")],
            worker="w",
            settings=SETTINGS,
        )
    with engine.connect() as c:
        row = c.execute(sa.select(D)).one()
    assert row.status == DeliveryStatus.FAILED
    assert row.last_error == "gave up after 3 attempts: 451 try later"
    assert [a[1] for a in attempts_of(engine, "k0")] == ["temporary"] * 3


def test_backoff_grows_and_is_capped() -> None:
    values = [outbox.backoff_seconds(n, SETTINGS) for n in range(1, 8)]
    assert 5 <= values[0] <= 10
    assert all(v <= 100 for v in values)
    assert values[5] >= 50


def test_release_returns_untried_rows_without_counting_an_attempt(engine: Engine) -> None:
    outbox.enqueue_many(engine, rows(2))
    batch = outbox.claim(engine, channel="email", worker="w", limit=10, lease_seconds=60)
    outbox.release(engine, batch, worker="w")
    again = outbox.claim(engine, channel="email", worker="w2", limit=10, lease_seconds=60)
    assert [c.attempt for c in again] == [1, 1]
    assert attempts_of(engine, "k0") == []


def test_a_late_success_is_recorded_even_after_the_lease_moved(engine: Engine) -> None:
    outbox.enqueue_many(engine, rows(1))
    (slow,) = outbox.claim(engine, channel="email", worker="slow", limit=1, lease_seconds=1)
    later = utcnow() + timedelta(seconds=5)
    (fast,) = outbox.claim(engine, channel="email", worker="fast", limit=1, lease_seconds=60, now=later)
    outbox.record(
        engine, [Outcome(slow, AttemptOutcome.SENT, provider_id="p1")], worker="slow", settings=SETTINGS
    )
    assert statuses(engine) == {"k0": "sent"}
    outbox.record(
        engine, [Outcome(fast, AttemptOutcome.TEMPORARY, error="x")], worker="fast", settings=SETTINGS
    )
    assert statuses(engine) == {"k0": "sent"}
    assert [a[1] for a in attempts_of(engine, "k0")] == ["abandoned", "sent", "temporary"]


def test_a_heartbeat_keeps_the_rows_and_a_stale_claim_is_fenced_off(engine: Engine) -> None:
    outbox.enqueue_many(engine, rows(2))
    start = utcnow()
    held = outbox.claim(engine, channel="email", worker="w", limit=10, lease_seconds=10, now=start)
    # Renewed at +8 s for 10 s more: at +15 s nobody may take the rows over.
    renewed = outbox.renew(engine, held, lease_seconds=10, now=start + timedelta(seconds=8))
    assert renewed == {c.id for c in held}
    at_15 = start + timedelta(seconds=15)
    assert outbox.claim(engine, channel="email", worker="other", limit=10, lease_seconds=10, now=at_15) == []
    # Not renewed again: at +30 s another worker takes them, and the first one's heartbeat says so.
    at_30 = start + timedelta(seconds=30)
    taken = outbox.claim(engine, channel="email", worker="other", limit=10, lease_seconds=10, now=at_30)
    assert {c.id for c in taken} == {c.id for c in held}
    assert outbox.renew(engine, held, lease_seconds=10, now=at_30) == set()
    # The stale claim's failure does not move the new holder's row; releasing it gives nothing back.
    outbox.record(
        engine, [Outcome(held[0], AttemptOutcome.TEMPORARY, error="x")], worker="w", settings=SETTINGS
    )
    outbox.release(engine, held[1:], worker="w")
    assert statuses(engine) == {"k0": "sending", "k1": "sending"}
    with engine.connect() as c:
        owners = {r.lease_owner for r in c.execute(sa.select(D.c.lease_owner))}
    assert owners == {taken[0].lease} and taken[0].lease.startswith("other#")


def test_the_same_worker_reclaiming_its_own_row_gets_a_new_fencing_token(engine: Engine) -> None:
    outbox.enqueue_many(engine, rows(1))
    start = utcnow()
    (first,) = outbox.claim(engine, channel="email", worker="w", limit=1, lease_seconds=1, now=start)
    later = start + timedelta(seconds=5)
    (second,) = outbox.claim(engine, channel="email", worker="w", limit=1, lease_seconds=60, now=later)
    assert first.lease != second.lease
    outbox.record(
        engine, [Outcome(first, AttemptOutcome.PERMANENT, error="old")], worker="w", settings=SETTINGS
    )
    assert statuses(engine) == {"k0": "sending"}  # the old try cannot fail the new one


def test_an_account_pause_is_written_with_the_outcome_and_never_shortened(engine: Engine) -> None:
    outbox.enqueue_many(engine, rows(2, channel="x"))
    batch = outbox.claim(engine, channel="x", worker="w", limit=10, lease_seconds=60)
    long = Outcome(
        batch[0], AttemptOutcome.RATE_LIMITED, error="24-hour cap", retry_after=3600, pause_account=True
    )
    short = Outcome(batch[1], AttemptOutcome.RATE_LIMITED, error="window", retry_after=60, pause_account=True)
    at = utcnow().replace(microsecond=0)
    with time_machine.travel(at, tick=False):
        outbox.record(engine, [long], worker="w", settings=SETTINGS)
        outbox.record(engine, [short], worker="w", settings=SETTINGS)
    pause = paused_until(engine, "x", now=at)
    assert pause is not None and pause.until == at + timedelta(hours=1)  # the longer one stands
    assert paused_until(engine, "email", now=at) is None
    assert paused_until(engine, "x", now=at + timedelta(hours=1)) is None  # over at its reset
    with engine.connect() as c:
        assert {r.attempts for r in c.execute(sa.select(D.c.attempts))} == {0}  # a pause is nobody's try


def test_an_error_quoting_a_url_with_credentials_is_stored_without_them(engine: Engine) -> None:
    outbox.enqueue_many(engine, rows(1))
    (claimed,) = outbox.claim(engine, channel="email", worker="w", limit=1, lease_seconds=60)
    error = "could not reach https://user:s3cret@relay.example/api (timeout); again at https://tok@x.example/"
    outbox.record(
        engine, [Outcome(claimed, AttemptOutcome.TEMPORARY, error=error)], worker="w", settings=SETTINGS
    )
    with engine.connect() as c:
        stored = [
            c.execute(sa.select(D.c.last_error)).scalar_one(),
            c.execute(sa.select(A.c.error)).scalar_one(),
        ]
    assert all("s3cret" not in e and "tok@" not in e and "relay.example/api" in e for e in stored), stored
