"""``distro run``: APScheduler 3.x jobs that poll sources, send the weekly digest and dispatch the outbox.

Jobs are module-level functions of plain arguments (a later step moves them to a persistent job store,
which pickles them). Every cron trigger carries the editor's timezone, and each job has its own
``misfire_grace_time`` (APScheduler's default of 1 s would silently skip a digest after a short hiccup).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from distro.app import App
from distro.errors import ConfigError, DistroError
from distro.services.delivery import dispatch
from distro.services.jobs import ingest_all, send_digest
from distro.services.social import plan_social

log = logging.getLogger(__name__)
_STOP = threading.Event()
_APP: dict[str, App] = {}


def poll_job() -> None:
    app = _APP["app"]
    try:
        ingest_all(app, strict=False)
        plan_social(app)
    except DistroError as exc:
        log.error("poll failed: %s", exc)


def digest_job() -> None:
    app = _APP["app"]
    try:
        result, rows = send_digest(app)
        log.info("digest: %s (%d rows queued)", result.reason or result.digest and result.digest.slug, rows)
    except DistroError as exc:
        log.error("digest not sent: %s", exc)


def dispatch_job() -> None:
    app = _APP["app"]
    reports = dispatch(app, stop=_STOP)
    for name, report in reports.items():
        if report.sent or report.temporary or report.permanent:
            log.info(
                "%s: sent %d, retrying %d, failed %d", name, report.sent, report.temporary, report.permanent
            )


def digest_trigger(app: App) -> CronTrigger:
    settings = app.settings.digest
    try:
        hour, minute = (int(part) for part in settings.time.split(":", 1))
        return CronTrigger(
            day_of_week=settings.day_of_week, hour=hour, minute=minute, timezone=settings.timezone
        )
    except ValueError as exc:
        raise ConfigError(
            f"digest.day_of_week/time: {exc} (e.g. day_of_week = 'mon', time = '07:00')"
        ) from exc


def build_scheduler(app: App) -> BlockingScheduler:
    _APP["app"] = app
    scheduler = BlockingScheduler(timezone=app.settings.digest.timezone)
    every = app.settings.scheduler
    scheduler.add_job(
        poll_job,
        IntervalTrigger(minutes=every.poll_minutes),
        id="poll",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=every.poll_minutes * 60,
    )
    scheduler.add_job(
        digest_job,
        digest_trigger(app),
        id="digest",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=6 * 3600,
    )
    scheduler.add_job(
        dispatch_job,
        IntervalTrigger(seconds=every.dispatch_seconds),
        id="dispatch",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=60,
    )
    return scheduler


def run_scheduler(app: App) -> None:
    """Block until SIGINT/SIGTERM; the job in progress finishes, the message in flight is not cut."""
    scheduler = build_scheduler(app)

    def stop(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping after the current job", signum)
        _STOP.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for job in scheduler.get_jobs():
        log.info("job %s: %s", job.id, job.trigger)
    scheduler.start()
