"""An edition the editor schedules by hand: it goes out at ``DigestEdit.send_at``, not at the cron time.

The time is stored on the edition's edit (by slug). The scheduler's ``scheduled`` job calls
:func:`send_scheduled` every minute and queues each composed edition whose time has come; while an edition
of a newsletter waits for its hand-set time, that newsletter's cron digest job stands aside
(:func:`hand_scheduled`), so the edition never goes out twice or early.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, select

from distro.app import App
from distro.db import session_scope
from distro.errors import DistroError
from distro.models import Digest, DigestEdit, DigestStatus, utcnow
from distro.services.digest import queue_digest

log = logging.getLogger(__name__)


def newsletter_of(slug: str) -> str:
    """The slug prefix of an edition's slug (a prefix never contains "-")."""
    return slug.split("-", 1)[0]


def _composed(session: Session, slug: str) -> Digest:
    digest = session.exec(select(Digest).where(Digest.slug == slug)).first()
    if digest is None:
        raise DistroError(f"edition {slug} is not composed yet; open it on the desk first")
    if digest.status != DigestStatus.COMPOSED:
        raise DistroError(f"edition {slug} is already {digest.status}; it cannot be scheduled")
    return digest


def schedule(app: App, slug: str, send_at: datetime, now: datetime | None = None) -> DigestEdit:
    """Send the composed edition ``slug`` at ``send_at`` (aware); DistroError for a past time or a queued
    edition."""
    now = now or utcnow()
    if send_at.tzinfo is None:
        raise ValueError("send_at must be timezone-aware")
    if send_at <= now:
        raise DistroError(f"{send_at:%Y-%m-%d %H:%M %Z} is in the past; choose a later time")
    with session_scope(app.engine) as session:
        _composed(session, slug)
        edit = session.exec(select(DigestEdit).where(DigestEdit.slug == slug)).first() or DigestEdit(
            slug=slug
        )
        edit.send_at = send_at
        edit.updated_at = utcnow()
        session.add(edit)
        session.flush()
        session.refresh(edit)
        session.expunge(edit)
    return edit


def unschedule(app: App, slug: str) -> bool:
    """Back to the newsletter's cron time; False when the edition was not scheduled by hand."""
    with session_scope(app.engine) as session:
        edit = session.exec(select(DigestEdit).where(DigestEdit.slug == slug)).first()
        if edit is None or edit.send_at is None:
            return False
        _composed(session, slug)
        edit.send_at = None
        edit.updated_at = utcnow()
        session.add(edit)
    return True


def _waiting(app: App) -> list[tuple[DigestEdit, Digest | None]]:
    """Every edit with a hand-set time whose edition is not queued, with its digest (None if missing)."""
    with session_scope(app.engine) as session:
        rows = session.exec(
            select(DigestEdit, Digest)
            .join(Digest, Digest.slug == DigestEdit.slug, isouter=True)  # type: ignore[arg-type]
            .where(DigestEdit.send_at.is_not(None))  # type: ignore[union-attr]
            .order_by(DigestEdit.send_at)  # type: ignore[arg-type]
        ).all()
        for edit, digest in rows:
            session.expunge(edit)
            if digest is not None:
                session.expunge(digest)
    return [(e, d) for e, d in rows if d is None or d.status == DigestStatus.COMPOSED]


def hand_scheduled(app: App, prefix: str | None = None) -> DigestEdit | None:
    """The edition of newsletter ``prefix`` (None: ``app``'s digest) waiting for its hand-set time."""
    prefix = prefix or app.settings.digest.slug_prefix
    return next((edit for edit, _ in _waiting(app) if newsletter_of(edit.slug) == prefix), None)


def send_scheduled(app: App, now: datetime | None = None) -> dict[str, int]:
    """Queue every edition whose hand-set time has passed and that is not queued yet; returns the new
    outbox rows per edition. Sending happens through the outbox (dispatch job or workers)."""
    now = now or utcnow()
    queued: dict[str, int] = {}
    configured = {n.slug_prefix for n in app.settings.all_newsletters}
    for edit, digest in _waiting(app):
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
            queued[edit.slug] = queue_digest(app.for_newsletter(prefix), digest)
        except DistroError as exc:
            log.error("scheduled edition %s: not queued: %s", edit.slug, exc)
            continue
        log.info("scheduled edition %s: %d deliveries queued", edit.slug, queued[edit.slug])
    return queued
