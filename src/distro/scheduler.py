"""``distro run``: APScheduler 3.x jobs that poll sources, send the weekly digest and dispatch the outbox.

Jobs live in APScheduler's SQLAlchemy job store in the project's database, so schedules survive restarts;
the store pickles jobs, so they are module-level functions referenced by name with no arguments, and fixed
ids with ``replace_existing`` mean a restart never adds a duplicate. Every cron trigger carries the
editor's timezone, and each job has its own ``misfire_grace_time`` (APScheduler's default of 1 s would
silently skip a digest after a short hiccup); a digest missed by more than its grace time is reported,
not sent late. Only one scheduler acts per database (see :mod:`distro.leader`); the others wait.

Because the store keeps only the jobs' names, a job finds what it acts on (the App, the stop event, the
leadership) in the :class:`SchedulerRuntime` of the scheduler running in this process: made by
:func:`run_scheduler` (or :func:`build_scheduler`) and cleared when that scheduler stops, so nothing of one
run leaks into the next.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED, EVENT_SCHEDULER_SHUTDOWN, JobExecutionEvent, SchedulerEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from distro.app import App
from distro.errors import DistroError
from distro.leader import Leadership, leadership_for
from distro.services.delivery import dispatch
from distro.services.digest_calendar import digest_job_id, digest_trigger  # digest_trigger lived here before
from distro.services.digest_schedule import hand_scheduled, send_scheduled
from distro.services.digest_send import send_edition
from distro.services.jobs import ingest_all
from distro.services.social import plan_social

log = logging.getLogger(__name__)


@dataclass
class SchedulerRuntime:
    """What the jobs of one scheduler act on, for as long as that scheduler runs."""

    app: App
    stop: threading.Event = field(default_factory=threading.Event)
    leadership: Leadership | None = None


_RUNTIME: SchedulerRuntime | None = None


def _install(runtime: SchedulerRuntime) -> None:
    global _RUNTIME
    _RUNTIME = runtime


def _clear(runtime: SchedulerRuntime) -> None:
    """Forget ``runtime`` unless a newer scheduler has replaced it meanwhile."""
    global _RUNTIME
    if _RUNTIME is runtime:
        _RUNTIME = None


def current() -> SchedulerRuntime:
    """The runtime of the scheduler running in this process (the jobs' only way to their App)."""
    if _RUNTIME is None:
        raise DistroError("no scheduler runs in this process: its jobs run inside `distro run`")
    return _RUNTIME


def poll_job() -> None:
    """Poll the sources, plan posts for new articles, refresh social tokens that end soon (Threads,
    LinkedIn: even an account with nothing to post keeps its token), and drop sign-ups nobody confirmed."""
    from distro.services.signup import purge_expired
    from distro.services.social_tokens import refresh_tokens

    app = current().app
    try:
        ingest_all(app, strict=False)
        plan_social(app)
    except DistroError as exc:
        log.error("poll failed: %s", exc)
    for check in refresh_tokens(app):
        if check.outcome == "refreshed":
            log.info("%s: token refreshed", check.channel)
    purged = purge_expired(app)
    if purged:
        log.info("sign-ups: %d expired without confirmation, removed", purged)


def digest_job(newsletter: str | None = None) -> None:
    """One newsletter's edition; ``newsletter`` is its slug prefix (None: the main digest)."""
    app = current().app
    label = f" {newsletter}" if newsletter else ""
    chosen = app.settings.newsletter(newsletter)  # ConfigError if it is no longer configured
    waiting = hand_scheduled(app, chosen)
    if waiting is not None and waiting.send_at is not None:
        log.info(
            "digest job%s: skipped: the editor scheduled %s by hand for %s UTC",
            label,
            waiting.slug,
            f"{waiting.send_at:%Y-%m-%d %H:%M}",
        )
        return
    try:
        sent = send_edition(app, chosen, refresh=True)
        what = sent.reason or (sent.digest.slug if sent.digest else "")
        log.info("digest job%s: %s (%d deliveries queued)", label, what, sent.queued)
    except DistroError as exc:
        log.error("digest job%s: not sent: %s", label, exc)


def scheduled_job() -> None:
    """Queue the editions the editor scheduled by hand whose time has come."""
    app = current().app
    try:
        send_scheduled(app)
    except DistroError as exc:
        log.error("scheduled editions: %s", exc)


def dispatch_job() -> None:
    runtime = current()
    reports = dispatch(runtime.app, stop=runtime.stop)
    for name, report in reports.items():
        if report.sent or report.temporary or report.permanent:
            log.info(
                "%s: sent %d, retrying %d, failed %d", name, report.sent, report.temporary, report.permanent
            )


def websub_job() -> None:
    from distro.services.websub import renew_websub_leases

    app = current().app
    try:
        renewed = renew_websub_leases(app)
        if renewed:
            log.info("websub: renewed %d subscriptions", len(renewed))
    except DistroError as exc:
        log.error("websub renewal failed: %s", exc)


def _report_missed(event: JobExecutionEvent) -> None:
    if event.job_id == "digest" or event.job_id.startswith("digest:"):
        option = f" --newsletter {event.job_id.partition(':')[2]}" if ":" in event.job_id else ""
        log.error(
            "the %s due at %s was missed by more than its grace time; not sending stale news. "
            "Run `distro digest send%s` to send it anyway.",
            event.job_id,
            event.scheduled_run_time,
            option,
        )
    else:
        log.warning("job %s due at %s was missed", event.job_id, event.scheduled_run_time)


def build_scheduler(
    app: App, *, persistent: bool = True, runtime: SchedulerRuntime | None = None
) -> BackgroundScheduler:
    """A scheduler with the project's job store; start it (paused) and call :func:`ensure_jobs`.

    Its jobs act on ``runtime`` (default: a fresh one for ``app``) until it shuts down.
    """
    runtime = runtime or SchedulerRuntime(app)
    _install(runtime)
    stores = {"default": SQLAlchemyJobStore(engine=app.engine)} if persistent else {}
    scheduler = BackgroundScheduler(timezone=app.settings.digest.timezone, jobstores=stores)
    scheduler.add_listener(_report_missed, EVENT_JOB_MISSED)

    def forget(_event: SchedulerEvent) -> None:
        _clear(runtime)

    scheduler.add_listener(forget, EVENT_SCHEDULER_SHUTDOWN)
    return scheduler


def ensure_jobs(scheduler: BackgroundScheduler, app: App, *, dispatch: bool = True) -> None:
    """Add the jobs by fixed id. The digest job keeps its stored next run time when its schedule is
    unchanged, so a digest that fell due while the service was down is caught up (or reported) on start
    instead of being silently moved to next week."""
    every = app.settings.scheduler
    common: dict[str, Any] = {"replace_existing": True, "coalesce": True, "max_instances": 1}
    _ensure_digest_jobs(scheduler, app, common)
    # (id, job function, trigger, misfire grace in seconds)
    jobs: list[tuple[str, str, IntervalTrigger, int]] = [
        ("scheduled", "scheduled_job", IntervalTrigger(minutes=1), 3600),
        ("poll", "poll_job", IntervalTrigger(minutes=every.poll_minutes), every.poll_minutes * 60),
    ]
    if dispatch:
        jobs.append(("dispatch", "dispatch_job", IntervalTrigger(seconds=every.dispatch_seconds), 60))
    elif scheduler.get_job("dispatch") is not None:
        scheduler.remove_job("dispatch")  # workers send; an old all-in-one job must not linger
    jobs.append(("websub", "websub_job", IntervalTrigger(hours=1), 3600))
    jobs.append(("leadership", "check_leadership", IntervalTrigger(seconds=15), 15))
    for job_id, function, trigger, grace in jobs:
        scheduler.add_job(
            f"distro.scheduler:{function}", trigger, id=job_id, misfire_grace_time=grace, **common
        )


def _ensure_digest_jobs(scheduler: BackgroundScheduler, app: App, common: dict[str, Any]) -> None:
    """One cron job per configured newsletter (replaced only when its schedule changed); jobs of
    newsletters no longer configured are removed."""
    wanted = set()
    for newsletter in app.settings.all_newsletters:
        prefix = newsletter.slug_prefix
        job_id = digest_job_id(app, prefix)
        wanted.add(job_id)
        trigger = digest_trigger(app, prefix)
        stored = scheduler.get_job(job_id)
        if stored is None or repr(stored.trigger) != repr(trigger):
            scheduler.add_job(
                "distro.scheduler:digest_job",
                trigger,
                kwargs={} if job_id == "digest" else {"newsletter": prefix},
                id=job_id,
                misfire_grace_time=app.settings.scheduler.digest_grace_minutes * 60,
                **common,
            )
    for job in scheduler.get_jobs():
        if job.id.startswith("digest:") and job.id not in wanted:
            log.info("scheduler: newsletter job %s is no longer configured; removed", job.id)
            scheduler.remove_job(job.id)


def _wait_for_leadership(app: App, leadership: Leadership, stop: threading.Event) -> bool:
    """Block as a hot standby until this process leads; False if asked to stop first."""
    announced = False
    while not stop.is_set():
        if leadership.try_acquire():
            log.info("scheduler: leader for this database")
            return True
        if not announced:
            log.info("scheduler: another scheduler leads this database; waiting as standby")
            announced = True
        stop.wait(app.settings.scheduler.standby_poll_seconds)
    return False


def check_leadership() -> None:
    """A leader that lost its lock (database restart) stops, so two schedulers never act at once."""
    runtime = current()
    if runtime.leadership is not None and not runtime.leadership.still_held():
        log.error("scheduler: lost leadership of the database; stopping")
        runtime.stop.set()


def run_scheduler(app: App, stop: threading.Event, *, dispatch: bool = True) -> None:
    """Lead (or wait as a standby), then run the jobs until ``stop`` is set or leadership is lost.

    The caller sets ``stop`` (``distro run`` does on SIGINT/SIGTERM); the job in progress finishes and the
    message in flight is not cut.
    """
    leadership = leadership_for(app.engine, app.settings.var_dir)
    if not _wait_for_leadership(app, leadership, stop):
        return
    runtime = SchedulerRuntime(app, stop, leadership)
    scheduler = build_scheduler(app, runtime=runtime)
    try:
        scheduler.start(paused=True)
        ensure_jobs(scheduler, app, dispatch=dispatch)
        for job in scheduler.get_jobs():
            log.info("job %s: %s, next run %s", job.id, job.trigger, job.next_run_time)
        scheduler.resume()
        stop.wait()
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
        leadership.release()
        _clear(runtime)
