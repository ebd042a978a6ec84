"""The scheduler's job store as ``distro status`` and the desk read it, without starting a scheduler.

APScheduler 3 owns the ``apscheduler_jobs`` table (it creates it on first start); we only read it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

_JOBS = sa.text("SELECT id, next_run_time, job_state FROM apscheduler_jobs ORDER BY id")


def stored(engine: Engine) -> list[tuple[str, float | None, bytes]]:
    """Each stored job's id, next run (a POSIX timestamp; None: paused) and pickled state, by id; none
    before a scheduler first ran."""
    if not sa.inspect(engine).has_table("apscheduler_jobs"):
        return []
    with engine.connect() as connection:
        return [(str(job), when, bytes(state)) for job, when, state in connection.execute(_JOBS)]
