"""When a newsletter's editions go out and what each is called.

An edition's slug is its period in the newsletter's timezone: ``weekly-2026-W48`` (ISO week) or
``security-2026-11-25`` (day). Its cron trigger says when the scheduler sends it; :func:`upcoming_at` is
the edition an editor works on, which is not always this period's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from distro.app import App
from distro.errors import ConfigError
from distro.models import DigestStatus, utcnow
from distro.settings import DigestSettings
from distro.store import editions

_LOOKAHEAD = 400  # fire times tried before giving up on finding an unqueued edition (over a year of days)


def digest_slug(newsletter: DigestSettings, at: datetime) -> str:
    """The slug of ``newsletter``'s edition whose period holds ``at`` (local time)."""
    local = at.astimezone(ZoneInfo(newsletter.timezone))
    if newsletter.period == "day":
        return f"{newsletter.slug_prefix}-{local:%Y-%m-%d}"
    year, week, _ = local.isocalendar()
    return f"{newsletter.slug_prefix}-{year}-W{week:02d}"


def digest_job_id(app: App, prefix: str) -> str:
    """The scheduler job of a newsletter: ``digest`` for the main digest (the id older versions stored),
    ``digest:<prefix>`` for the others."""
    return "digest" if prefix == app.settings.digest.slug_prefix else f"digest:{prefix}"


def digest_trigger(app: App, prefix: str | None = None) -> CronTrigger:
    """When the newsletter ``prefix`` (None: the main digest) goes out: a cron trigger in its timezone."""
    newsletter = app.settings.newsletter(prefix)
    try:
        hour, minute = (int(part) for part in newsletter.time.split(":", 1))
        return CronTrigger(
            day_of_week=newsletter.day_of_week, hour=hour, minute=minute, timezone=newsletter.timezone
        )
    except ValueError as exc:
        label = "digest" if newsletter is app.settings.digest else f"newsletter {newsletter.slug_prefix}"
        raise ConfigError(
            f"{label}: day_of_week/time: {exc} (e.g. day_of_week = 'mon' or 'mon-fri', time = '07:00')"
        ) from exc


def upcoming_at(app: App, newsletter: DigestSettings, now: datetime | None = None) -> datetime:
    """A time inside the edition the editor works on: ``now`` while this period's edition is composed
    but not queued, else the newsletter's next fire time (skipping editions already queued by hand).

    On Friday an editor edits what goes out next Monday, not the edition already sent; the scheduler
    composes that same edition at its time (with the articles that arrived since, edits kept).
    """
    now = now or utcnow()
    if editions.status_of(app.engine, digest_slug(newsletter, now)) == DigestStatus.COMPOSED:
        return now
    trigger = digest_trigger(app, newsletter.slug_prefix)
    at = now
    for _ in range(_LOOKAHEAD):
        fire: datetime | None = trigger.get_next_fire_time(None, at + timedelta(seconds=1))
        if fire is None:
            break
        at = fire.astimezone(UTC)
        if editions.status_of(app.engine, digest_slug(newsletter, at)) in (None, DigestStatus.COMPOSED):
            return at
    return at
