"""The send benchmark's tables over list size: peak memory, and dispatch rate against queue depth.

Both queue every subscriber of a list (``queue_edition``, keyset pages) and then dispatch only the first
``send`` rows, so what grows is the queue, not the work: a claim that reads the whole queue shows here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _databases import postgres_schema
from _runner import in_child, measure
from _smtp_sink import SmtpSink


@dataclass(frozen=True)
class Jobs:
    """The send benchmark's spawned jobs (functions of its main module, so spawn can find them)."""

    prepare: Callable[..., dict[str, Any]]  # (work, subscribers) -> {"queued", "rss_mb", "queue_s"}
    run: Callable[..., int]  # run_distro
    sent: Callable[[Path], int]  # rows sent in work's database


@contextmanager
def _work(database: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="distro-bench-") as tmp:
        place = postgres_schema(Path(tmp)) if database == "postgresql" else nullcontext(Path(tmp))
        with place as work:
            yield work


def memory_table(sizes: list[int], sink: SmtpSink, send: int, jobs: Jobs) -> None:
    print(
        f"\nPeak memory vs list size: queue every subscriber, then dispatch the first {send} (1 connection)\n"
    )
    print(f"{'subscribers':>11} {'queue_edition RSS':>17} {'dispatch RSS':>13} {'sent':>7} {'msg/s':>7}")
    for size in sizes:
        with _work("sqlite") as work:
            prepared = in_child(jobs.prepare, work, size)
            row = measure("memory", jobs.run, work, sink, send, 1)
            row.sent = jobs.sent(work)
            print(
                f"{size:>11} {prepared['rss_mb']:>14.0f} MB {row.rss_mb:>10.0f} MB "
                f"{row.sent:>7} {row.rate:>7.0f}",
                flush=True,
            )


def depth_table(depths: list[int], databases: list[str], sink: SmtpSink, send: int, jobs: Jobs) -> None:
    """Dispatch rate of the first ``send`` rows of queues ``depths`` deep, with the ratio to the first
    depth's rate in the same run (the target: >= 0.9 at any depth); queue_edition time beside it."""
    print(f"\nDispatch rate vs queue depth: queue N rows, then dispatch the first {send} (1 connection)\n")
    base = f"vs {depths[0] // 1000}k" if depths[0] >= 1000 else f"vs {depths[0]}"
    print(f"{'database':<10} {'queued':>9} {'queue_edition':>13} {'rows/s':>8} {'msg/s':>7} {base:>7}")
    for database in databases:
        first = 0.0
        for depth in depths:
            with _work(database) as work:
                prepared = in_child(jobs.prepare, work, depth)
                row = measure("depth", jobs.run, work, sink, send, 1)
                row.sent = jobs.sent(work)
            first = first or row.rate
            queue_s = prepared["queue_s"]
            print(
                f"{database:<10} {prepared['queued']:>9} {queue_s:>12.1f}s "
                f"{prepared['queued'] / queue_s if queue_s else 0:>8.0f} {row.rate:>7.0f} "
                f"{row.rate / first if first else 0:>6.2f}x",
                flush=True,
            )
