"""Send-rate limits: messages per second over a channel, and per recipient domain.

Each limit is a token bucket kept in GCRA form (one "theoretical arrival time" per bucket), which makes a
reservation exact and O(1): :meth:`Throttle.reserve` returns when a message may go, taking a slot in the
overall bucket and in its domain's bucket at that same moment, so the two limits never drift apart. The
caller sleeps *outside* any database transaction (the dispatcher claims and commits first), and sleeps on
its stop event, so SIGTERM is never held up by a throttle.

The clock is injected (``time.monotonic`` by default) so tests check scheduling decisions, not wall time.
A throttle is shared by the sender threads of one channel in one process; with several processes, divide
the provider's limit by their number.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]
_MAX_DOMAINS = 10_000  # forget idle domain buckets beyond this many (memory bound on huge lists)


@dataclass
class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst``; ``rate`` 0 means unlimited."""

    rate: float
    burst: float = 1.0
    tat: float = float("-inf")  # theoretical arrival time of the next conforming message

    def earliest(self, now: float) -> float:
        """The first moment at or after ``now`` when a token is available (nothing is taken)."""
        if self.rate <= 0:
            return now
        tolerance = (max(self.burst, 1.0) - 1.0) / self.rate
        return max(now, self.tat - tolerance)

    def take(self, at: float) -> None:
        """Take one token at ``at`` (a moment :meth:`earliest` allowed)."""
        if self.rate > 0:
            self.tat = max(self.tat, at) + 1.0 / self.rate


class Throttle:
    """Overall and per-domain limits for one channel; thread-safe."""

    def __init__(
        self,
        per_second: float = 0.0,
        per_domain_per_second: float = 0.0,
        *,
        burst: float = 1.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if per_second < 0 or per_domain_per_second < 0:
            raise ValueError("throttle rates must be >= 0 (0 means unlimited)")
        self.clock = clock
        self._overall = TokenBucket(per_second, burst)
        self._domain_rate = per_domain_per_second
        self._burst = burst
        self._domains: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    @property
    def unlimited(self) -> bool:
        return self._overall.rate <= 0 and self._domain_rate <= 0

    def reserve(self, recipient: str) -> float:
        """Take a slot for one message to ``recipient``; return how many seconds to wait before sending."""
        if self.unlimited:
            return 0.0
        with self._lock:
            now = self.clock()
            at = self._overall.earliest(now)
            bucket = self._domain_bucket(recipient, now)
            if bucket is not None:
                at = max(at, bucket.earliest(now))
                bucket.take(at)
            self._overall.take(at)
            return at - now

    def try_take(self, recipient: str) -> float:
        """Take a slot for ``recipient`` if one is free now (0.0); else take nothing and return how many
        seconds until one is, so the caller can send to another domain meanwhile."""
        if self.unlimited:
            return 0.0
        with self._lock:
            now = self.clock()
            bucket = self._domain_bucket(recipient, now)
            at = self._overall.earliest(now)
            if bucket is not None:
                at = max(at, bucket.earliest(now))
            if at > now:
                return at - now
            if bucket is not None:
                bucket.take(now)
            self._overall.take(now)
            return 0.0

    def _domain_bucket(self, recipient: str, now: float) -> TokenBucket | None:
        if self._domain_rate <= 0:
            return None
        domain = recipient.rpartition("@")[2].lower() or recipient.lower()
        bucket = self._domains.get(domain)
        if bucket is None:
            if len(self._domains) >= _MAX_DOMAINS:  # an idle bucket (tat passed) carries no state
                self._domains = {d: b for d, b in self._domains.items() if b.tat > now}
            bucket = self._domains[domain] = TokenBucket(self._domain_rate, self._burst)
        return bucket

    def wait(self, recipient: str, stop: threading.Event | None = None) -> bool:
        """Reserve and sleep until the slot; False if ``stop`` was set meanwhile (the message must not go)."""
        delay = self.reserve(recipient)
        if delay <= 0:
            return not (stop and stop.is_set())
        if stop is None:
            time.sleep(delay)
            return True
        return not stop.wait(delay)
