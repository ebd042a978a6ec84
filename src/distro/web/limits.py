"""In-memory sliding-window rate limits for public forms (sign-up, desk sign-in), per web process."""

from __future__ import annotations

import threading
import time
from collections import deque


class SlidingWindow:
    """At most ``limit`` events per key in the last ``seconds`` (in memory, per process)."""

    def __init__(self, limit: int, seconds: float = 3600.0) -> None:
        self.limit, self.seconds = limit, seconds
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.seconds:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True
