"""An edition the editor schedules by hand: it goes out at ``DigestEdit.send_at``, not at the cron time.

The time is stored on the edition's edit (by slug). The scheduler's ``scheduled`` job calls
:func:`send_scheduled` every minute and queues each composed edition whose time has come; while an edition
of a newsletter waits for its hand-set time, that newsletter's cron digest job stands aside
(:func:`hand_scheduled`), so the edition never goes out twice or early.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from distro.app import App
from distro.errors import DistroError, InvalidInput
from distro.models import Digest, DigestEdit, DigestStatus, utcnow
from distro.services.activity import record
from distro.services.desk_clock import local_time
from distro.services.digest_send import queue_edition
from distro.settings import DigestSettings
from distro.store import editions

log = logging.getLogger(__name__)


def newsletter_of(slug: str) -> str:
    """The slug prefix of an edition's slug (a prefix never contains "-")."""
    return slug.split("-", 1)[0]


def _require_composed(slug: str, digest: Digest | None) -> None:
    if digest is None:
        raise DistroError(f"edition {slug} is not composed yet; open it on the desk first")
    if digest.status != DigestStatus.COMPOSED:
        raise DistroError(f"edition {slug} is already {digest.status}; it cannot be scheduled")


def _set_send_at(slug: str, send_at: datetime | None, edit: DigestEdit, digest: Digest | None) -> None:
    _require_composed(slug, digest)
    edit.send_at = send_at


def schedule(
    app: App, slug: str, send_at: datetime, now: datetime | None = None, *, actor: str | None = None
) -> DigestEdit:
    """Send the composed edition ``slug`` at ``send_at`` (aware); DistroError for a past time or a queued
    edition."""
    now = now or utcnow()
    if send_at.tzinfo is None:
        raise InvalidInput("send_at must be timezone-aware")
    if send_at <= now:
        raise DistroError(f"{send_at:%Y-%m-%d %H:%M %Z} is in the past; choose a later time")
    edit = editions.update_edit(app.engine, slug, partial(_set_send_at, slug, send_at))
    when = f"at {local_time(app.settings, send_at)}"
    record(app, actor=actor, action="edition.schedule", subject=f"edition {slug}", detail=when)
    return edit


def unschedule(app: App, slug: str, *, actor: str | None = None) -> bool:
    """Back to the newsletter's cron time; False when the edition was not scheduled by hand."""
    edit = editions.load_edit(app.engine, slug)
    if edit is None or edit.send_at is None:
        return False
    editions.update_edit(app.engine, slug, partial(_set_send_at, slug, None))
    record(app, actor=actor, action="edition.unschedule", subject=f"edition {slug}", detail="the usual time")
    return True


def hand_scheduled(app: App, newsletter: DigestSettings) -> DigestEdit | None:
    """The edition of ``newsletter`` waiting for its hand-set time, if any."""
    prefix = newsletter.slug_prefix
    waiting = editions.waiting_edits(app.engine)
    return next((edit for edit, _ in waiting if newsletter_of(edit.slug) == prefix), None)


def send_scheduled(app: App, now: datetime | None = None) -> dict[str, int]:
    """Queue every edition whose hand-set time has passed and that is not queued yet, exactly as it was
    previewed; returns the new outbox rows per edition. Sending happens through the outbox (dispatch job
    or workers)."""
    now = now or utcnow()
    queued: dict[str, int] = {}
    configured = {n.slug_prefix: n for n in app.settings.all_newsletters}
    for edit, digest in editions.waiting_edits(app.engine):
        if edit.send_at is None or edit.send_at > now:
            continue
        prefix = newsletter_of(edit.slug)
        if prefix not in configured:
            log.error("scheduled edition %s: newsletter %r is no longer configured", edit.slug, prefix)
            continue
        if digest is None:
            log.error("scheduled edition %s: not composed; nothing to send", edit.slug)
            continue
        try:
            queued[edit.slug] = queue_edition(app, configured[prefix], digest).queued
        except DistroError as exc:
            log.error("scheduled edition %s: not queued: %s", edit.slug, exc)
            continue
        log.info("scheduled edition %s: %d deliveries queued", edit.slug, queued[edit.slug])
    return queued
