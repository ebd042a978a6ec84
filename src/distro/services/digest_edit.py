"""The editor's loop: edit this week's digest, preview it, send a test copy, then send it.

An edit is stored per week (by slug) before or after composing; saving one recomposes a digest that is
composed but not queued. A queued digest cannot change: its messages may already be out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from distro import outbox
from distro.app import App
from distro.dispatch import _attempt
from distro.errors import DistroError
from distro.models import Delivery, Digest, DigestEdit, DigestStatus, utcnow
from distro.outbox import Claimed
from distro.services.activity import record
from distro.services.digest_calendar import digest_slug
from distro.services.digest_check import require_safe
from distro.services.digest_compose import DigestResult, recompose_edition
from distro.services.messages import MessageBuilder
from distro.settings import DigestSettings
from distro.store import editions


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
    app: App,
    newsletter: DigestSettings,
    changes: EditChanges,
    now: datetime | None = None,
    *,
    at: datetime | None = None,
    actor: str | None = None,
) -> DigestResult:
    """Store the edit of ``newsletter``'s edition holding ``at`` (default ``now``) and recompose it;
    DistroError once it is queued.

    The desk and the CLI pass :func:`~distro.services.digest_calendar.upcoming_at`, so after Monday's
    edition is queued they edit next Monday's.
    """
    now = now or utcnow()
    if changes.max_stories is not None and changes.max_stories < 1:
        raise DistroError("--max-stories must be at least 1")
    slug = digest_slug(newsletter, at or now)
    editions.update_edit(app.engine, slug, partial(_apply, changes))
    record(app, actor=actor, action="edition.edit", subject=f"edition {slug}", detail=_described(changes))
    return recompose_edition(app, newsletter, now, at=at)


def _described(changes: EditChanges) -> str:
    """What an edit changed, in a few words (the activity record; never the intro's text)."""
    said = [
        "intro" if changes.intro is not None else "",
        "lead" if changes.pin is not None or changes.unpin else "",
        f"excluded {len(changes.exclude)}" if changes.exclude else "",
        f"included {len(changes.include)}" if changes.include else "",
        f"at most {changes.max_stories} stories" if changes.max_stories is not None else "",
        "window" if changes.window_days is not None else "",
        "sections" if changes.sections is not None else "",
    ]
    return ", ".join(s for s in said if s)


def _apply(changes: EditChanges, edit: DigestEdit, digest: Digest | None) -> None:
    if digest is not None and digest.status != DigestStatus.COMPOSED:
        raise DistroError(
            f"digest {digest.slug} is already {digest.status}; a queued digest cannot be edited"
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


def send_test(app: App, digest: Digest, to: str, *, actor: str | None = None) -> Delivery:
    """Send one copy of ``digest`` to ``to`` now through the real email channel, subject "[TEST] ...".

    It is an outbox row of its own (key ``test:<slug>:<n>``, no subscriber), so the log shows it apart and
    it never counts as a recipient; a temporary failure stays queued for ``distro dispatch``.
    """
    newsletters = app.settings.all_newsletters
    newsletter = next((n for n in newsletters if n.slug_prefix == digest.newsletter), app.settings.digest)
    require_safe(app, newsletter, digest, bulk=False)  # one copy: DKIM and https are not required
    now = utcnow()
    lease_until = now + timedelta(seconds=app.settings.dispatch.lease_seconds)
    row = editions.add_test_copy(app.engine, digest, to, worker=app.worker_id, lease_until=lease_until)
    claimed = Claimed(row.id or 0, row.key, "email", to, digest.id, None, None, 1, now)
    message = MessageBuilder(app)([claimed]).get(claimed.id)
    channel = app.channel_factory("email")
    try:
        outcome = _attempt(channel, claimed, message)
    finally:
        channel.close()
    outbox.record(app.engine, [outcome], worker=app.worker_id, settings=app.settings.dispatch)
    row = editions.delivery(app.engine, claimed.id)
    record(
        app,
        actor=actor,
        action="edition.test",
        subject=f"edition {digest.slug}",
        detail=f"to {to}: {row.status}",
    )
    return row
