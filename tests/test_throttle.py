"""The token buckets decide when each message may go; an injected clock makes the decisions exact."""

from __future__ import annotations

import threading

import pytest

from distro.throttle import Throttle, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_overall_rate_spaces_messages_evenly() -> None:
    clock = Clock()
    throttle = Throttle(per_second=4, clock=clock)
    assert [throttle.reserve(f"r{i}@a.example") for i in range(4)] == [0.0, 0.25, 0.5, 0.75]
    clock.now += 10  # idle time does not bank more than the burst
    assert [throttle.reserve("x@a.example"), throttle.reserve("y@a.example")] == [0.0, 0.25]


def test_per_domain_rate_holds_one_domain_back_without_slowing_the_others() -> None:
    clock = Clock()
    throttle = Throttle(per_second=0, per_domain_per_second=1, clock=clock)
    delays = [throttle.reserve(a) for a in ("a@gmail.com", "b@GMAIL.com", "c@yahoo.com", "d@gmail.com")]
    assert delays == [0.0, 1.0, 0.0, 2.0]


def test_a_message_waits_for_both_limits_and_takes_its_slot_in_both() -> None:
    clock = Clock()
    throttle = Throttle(per_second=10, per_domain_per_second=2, clock=clock)
    delays = [throttle.reserve(a) for a in ("a@x.org", "b@x.org", "c@y.org", "d@x.org")]
    # b waits for x.org (0.5 s); c only for the overall slot after b's (0.6 s); d for x.org again (1.0 s).
    assert delays == pytest.approx([0.0, 0.5, 0.6, 1.0])


def test_burst_lets_a_few_go_at_once_then_paces() -> None:
    bucket = TokenBucket(rate=2, burst=3)
    times = []
    for _ in range(5):
        at = bucket.earliest(0.0)
        bucket.take(at)
        times.append(at)
    assert times == [0.0, 0.0, 0.0, 0.5, 1.0]


def test_unlimited_never_waits_and_stop_cancels_a_wait() -> None:
    assert Throttle().reserve("a@b.c") == 0.0
    clock = Clock()
    throttle = Throttle(per_second=0.001, clock=clock)  # the second message would wait 1000 s
    stop = threading.Event()
    assert throttle.wait("a@b.c", stop) is True
    stop.set()
    assert throttle.wait("a@b.c", stop) is False  # returns at once: SIGTERM is not held up


def test_negative_rates_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        Throttle(per_second=-1)
