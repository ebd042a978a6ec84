"""Time to first message: ``send_edition`` in one process, a ``distro worker`` already running in another.

The editor's wait is from the send to the first message the sink accepts; the last tells whether a list
goes out within the minutes a news desk expects. The worker polls as deployed (``dispatch.idle_seconds``)
and sends rows as ``queue_edition`` commits them, chunk by chunk.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from contextlib import nullcontext
from pathlib import Path

from _databases import postgres_schema
from _runner import Ready, in_child, measure
from _smtp_sink import SmtpSink

from distro.app import build_app
from distro.channels.base import EmailOut, Receipt
from distro.channels.smtp import SmtpChannel
from distro.services.digest_send import send_edition
from distro.worker import run_worker

TIMES = "first_last.json"


class _Clocked:
    """The real SmtpChannel, noting when the first and the last of ``total`` sends were accepted."""

    def __init__(self, channel: SmtpChannel, total: int, stop: threading.Event, work: Path) -> None:
        self.name, self._channel, self._left, self._stop, self._work = (
            channel.name,
            channel,
            total,
            stop,
            work,
        )
        self.first = 0.0

    def send(self, message: EmailOut) -> Receipt:
        receipt = self._channel.send(message)
        self.first = self.first or time.time()
        self._left -= 1
        if self._left <= 0:
            (self._work / TIMES).write_text(json.dumps({"first": self.first, "last": time.time()}))
            self._stop.set()
        return receipt

    def close(self) -> None:
        self._channel.close()


def run_first_last(work: Path, port: int, count: int, index: int, ready: Ready) -> int:
    """Process 0 is the editor (``send_edition``, the start time in ``sent.json``), process 1 the worker."""
    from send_throughput import make_settings  # the bench's main module (spawned children import it)

    settings = make_settings(work, port)
    stop = threading.Event()
    factory = (lambda name: _Clocked(SmtpChannel(settings.smtp), count, stop, work)) if index else None
    app = build_app(settings, channels=factory)
    ready()
    if index == 0:
        (work / "sent.json").write_text(json.dumps(time.time()))
        send_edition(app, app.settings.digest)
        return 0
    app.worker_id = "bench-worker"
    sent = sum(r.sent for r in run_worker(app, ["email"], stop=stop).channels.values())
    app.engine.dispose()
    return sent


def first_message_table(size: int, databases: list[str], sink: SmtpSink, prepare: object) -> None:
    print(f"\nTime to first message: send_edition on {size} subscribers, one `distro worker` running\n")
    print(f"{'database':<10} {'subscribers':>11} {'first':>8} {'last':>8} {'msg/s':>7}")
    for database in databases:
        with tempfile.TemporaryDirectory(prefix="distro-bench-") as tmp:
            place = postgres_schema(Path(tmp)) if database == "postgresql" else nullcontext(Path(tmp))
            with place as work:
                in_child(prepare, work, size, False)  # type: ignore[arg-type]
                measure("first", run_first_last, work, sink, 2 * size, 2)
                began = json.loads((work / "sent.json").read_text())
                times = json.loads((work / TIMES).read_text())
            first, last = times["first"] - began, times["last"] - began
            print(f"{database:<10} {size:>11} {first:>7.1f}s {last:>7.1f}s {size / last:>7.0f}", flush=True)
