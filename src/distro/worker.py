"""``distro worker``: a long-running dispatch worker; run any number, on any number of machines.

Each worker keeps one pool of channel instances per channel open for its whole life (SMTP: persistent
connections), and loops: send what is due on every channel, sleep ``dispatch.idle_seconds`` when a pass
found nothing. Workers never coordinate with each other: the outbox's leases do (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, one writer at a time on SQLite), and a worker killed outright leaves its claimed
rows to be taken again when their lease expires.

SIGTERM or SIGINT: the messages in flight finish and are recorded, the rest of the claimed batch is
released untried, the channels are closed, and :func:`run_worker` returns (the CLI exits 0).

The database going away is weather, not a crash: outcomes already in hand are kept and recorded when it
is back (:mod:`distro.batch`), and a pass that cannot claim or build waits with backoff (one log line per
try, no traceback) and goes on.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from distro.app import App
from distro.db import DATABASE_DOWN, describe_database_error
from distro.dispatch import DispatchReport
from distro.services.delivery import Senders, dispatch_with, open_senders

log = logging.getLogger(__name__)


@dataclass
class WorkerReport:
    passes: int = 0
    channels: dict[str, DispatchReport] = field(default_factory=dict)

    @property
    def handled(self) -> int:
        return sum(r.sent + r.temporary + r.permanent + r.suppressed for r in self.channels.values())


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGTERM/SIGINT for the block (main thread only; elsewhere the caller stops us)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: finishing the messages in flight, then stopping", signum)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_worker(
    app: App,
    channels: Sequence[str] | None = None,
    *,
    once: bool = False,
    stop: threading.Event | None = None,
) -> WorkerReport:
    """Dispatch until stopped (or one pass with ``once``); return what was done."""
    stop = stop or threading.Event()
    names = list(dict.fromkeys(channels or app.enabled_channels()))  # the factory refuses unknown names
    report = WorkerReport()
    senders: dict[str, Senders] = {}
    with stop_on_signals(stop):
        try:
            for name in names:
                senders[name] = open_senders(app, name)
            log.info("worker %s: channels %s", app.worker_id, ", ".join(names))
            delay = 1.0
            while not stop.is_set():
                before = report.handled
                try:
                    passed = dispatch_with(app, senders, stop=stop)
                except DATABASE_DOWN as exc:
                    if once:
                        raise
                    log.warning(
                        "database unreachable (%s); retrying in %.0fs", describe_database_error(exc), delay
                    )
                    stop.wait(delay)
                    delay = min(delay * 2, 30.0)
                    continue
                delay = 1.0
                for name, rep in passed.items():
                    total = report.channels.setdefault(name, DispatchReport())
                    total.add(rep)
                    total.paused = list(dict.fromkeys(total.paused))  # once per channel, not per pass
                report.passes += 1
                if once:
                    break
                if report.handled == before:
                    stop.wait(app.settings.dispatch.idle_seconds)
        finally:
            for pool in senders.values():
                pool.close()
    log.info("worker %s stopped after %d passes", app.worker_id, report.passes)
    return report
