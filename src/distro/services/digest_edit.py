"""The editor's loop: edit this week's digest, preview it, send a test copy, then send it.

An edit is stored per week (by slug) before or after composing; saving one recomposes a digest that is
composed but not queued. A queued digest cannot change: its messages may already be out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select

from distro import outbox
from distro.app import App
from distro.db import session_scope
from distro.dispatch import _attempt
from distro.errors import DistroError
from distro.models import Delivery, DeliveryStatus, Digest, DigestEdit, DigestStatus, utcnow
from distro.outbox import Claimed
from distro.services.digest import TEST_KEY_PREFIX, DigestResult, compose_weekly, digest_slug
from distro.services.messages import MessageBuilder


@dataclass(frozen=True, slots=True)
class EditChanges:
    """What the editor changes; None leaves a choice as it is."""

    intro: str | None = None
    pin: int | None = None
    unpin: bool = False
    exclude: tuple[int, ...] = ()
    include: tuple[int, ...] = ()
    max_stories: int | None = None
    window_days: int | None = None  # 0 means "since the previous digest" again
    sections: tuple[str, ...] | None = None


def save_edit(
    app: App, changes: EditChanges, now: datetime | None = None, *, slug_at: datetime | None = None
) -> DigestResult:
    """Store the week's edit and (re)compose the digest with it; DistroError once it is queued.

    ``slug_at`` picks another edition than this period's: the desk passes
    :func:`~distro.services.digest.upcoming_at`, so after Monday's digest is queued it edits next Monday's.
    """
    now = now or utcnow()
    slug = digest_slug(app, slug_at or now)
    if changes.max_stories is not None and changes.max_stories < 1:
        raise DistroError("--max-stories must be at least 1")
    with session_scope(app.engine) as session:
        digest = session.exec(select(Digest).where(Digest.slug == slug)).first()
        if digest is not None and digest.status != DigestStatus.COMPOSED:
            raise DistroError(f"digest {slug} is already {digest.status}; a queued digest cannot be edited")
        edit = session.exec(select(DigestEdit).where(DigestEdit.slug == slug)).first() or DigestEdit(
            slug=slug
        )
        if changes.intro is not None:
            edit.intro = changes.intro
        if changes.pin is not None or changes.unpin:
            edit.pinned_article_id = None if changes.unpin else changes.pin
        excluded = (set(edit.excluded_article_ids or ()) | set(changes.exclude)) - set(changes.include)
        edit.excluded_article_ids = sorted(excluded)
        if changes.max_stories is not None:
            edit.max_stories = changes.max_stories
        if changes.window_days is not None:
            edit.window_days = changes.window_days or None
        if changes.sections is not None:
            edit.sections = list(changes.sections) or None
        edit.updated_at = utcnow()
        session.add(edit)
    return compose_weekly(app, now, recompose=True, slug_at=slug_at)


def send_test(app: App, digest: Digest, to: str) -> Delivery:
    """Send one copy of ``digest`` to ``to`` now through the real email channel, subject "[TEST] ...".

    It is an outbox row of its own (key ``test:<slug>:<n>``, no subscriber), so the log shows it apart and
    it never counts as a recipient; a temporary failure stays queued for ``distro dispatch``.
    """
    now = utcnow()
    lease = app.settings.dispatch.lease_seconds
    with session_scope(app.engine) as session:
        number = session.exec(
            select(sa.func.count())
            .select_from(Delivery)
            .where(Delivery.key.startswith(f"{TEST_KEY_PREFIX}{digest.slug}:"))  # type: ignore[attr-defined]
        ).one()
        row = Delivery(
            key=f"{TEST_KEY_PREFIX}{digest.slug}:{int(number) + 1}",
            channel="email",
            recipient=to,
            digest_id=digest.id,
            status=DeliveryStatus.SENDING,
            attempts=1,
            lease_owner=app.worker_id,
            lease_until=now + timedelta(seconds=lease),
        )
        session.add(row)
        session.flush()
        claimed = Claimed(row.id or 0, row.key, "email", to, digest.id, None, None, 1, now)
    message = MessageBuilder(app)([claimed]).get(claimed.id)
    channel = app.channel_factory("email")
    try:
        outcome = _attempt(channel, claimed, message)
    finally:
        channel.close()
    outbox.record(app.engine, [outcome], worker=app.worker_id, settings=app.settings.dispatch)
    with session_scope(app.engine) as session:
        sent = session.get_one(Delivery, claimed.id)
        session.expunge(sent)
    return sent
