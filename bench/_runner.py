"""Measuring jobs in spawned processes for the benchmarks: a common start, CPU, peak RSS per process.

A job is ``job(*args, ready)``: it sets itself up, calls ``ready()`` (which blocks until every process
is set up), does the measured work and returns how many messages it handled. Spawned, not forked, so a
process's peak RSS is its own and not the parent's.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _smtp_sink import SmtpSink

Ready = Callable[[], None]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker(job: Callable[..., int], args: tuple[Any, ...], ready: Any, start: Any, results: Any) -> None:
    began: list[float] = []

    def wait_for_start() -> None:
        """Set up, say so, then wait until every worker is: the clock starts for all at once."""
        ready.put(os.getpid())
        start.wait()
        began.extend((time.process_time(), time.monotonic()))

    try:
        sent = job(*args, wait_for_start)
        cpu = time.process_time() - began[0]
        results.put((sent, cpu, began[1], time.monotonic(), peak_rss_mb(), None))
    except BaseException as exc:  # report it, so the parent never waits forever
        ready.put(os.getpid())
        results.put((0, 0.0, 0.0, 0.0, 0.0, f"{type(exc).__name__}: {exc}"))
        raise


@dataclass
class Row:
    name: str
    connections: int
    sent: int
    seconds: float
    cpu: float
    rss_mb: float
    sink_cpu: float

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def measure(
    name: str, job: Callable[..., int], work: Path, sink: SmtpSink, total: int, connections: int
) -> Row:
    """Run ``job`` in ``connections`` spawned processes sharing ``total`` messages; wall time from the
    common start to the last finish, CPU summed, peak RSS of the largest process."""
    ctx = mp.get_context("spawn")
    ready, start, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    share = total // connections
    procs = [
        ctx.Process(target=_worker, args=(job, (work, sink.port, share, i), ready, start, results))
        for i in range(connections)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=600)
    sink_before = sink.cpu_seconds()
    start.set()
    outcomes = [results.get(timeout=3600) for _ in procs]
    for proc in procs:
        proc.join()
    errors = [o[5] for o in outcomes if o[5]]
    if errors:
        raise SystemExit(f"{name}: a worker failed: {errors[0]}")
    return Row(
        name=name,
        connections=connections,
        sent=sum(o[0] for o in outcomes),
        seconds=max(o[3] for o in outcomes) - min(o[2] for o in outcomes),
        cpu=sum(o[1] for o in outcomes),
        rss_mb=max(o[4] for o in outcomes),
        sink_cpu=sink.cpu_seconds() - sink_before,
    )


def in_child(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run ``function`` in a fresh process so its peak RSS is its own."""
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)
