"""Sending an edition: the one use case the CLI, the desk, the scheduler and the main job all call.

:func:`send_edition` opens the edition (or, at send time, composes it again with the latest stories),
lets a face confirm it with the recipient count, and queues one outbox row per recipient; the dispatch job
or the workers send the rows. Counting and queueing read the same :func:`~distro.store.recipients.
recipients` query, so "Send to N?" is exactly what gets queued (suppressed, paused and unsubscribed
readers, and readers of other newsletters, are in neither).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from distro import outbox
from distro.app import App
from distro.errors import DistroError
from distro.models import Digest
from distro.progress import Ticker
from distro.services.activity import record
from distro.services.digest_check import require_safe
from distro.services.digest_compose import open_edition, recompose_edition
from distro.services.digest_variants import compose_variants, sections_key
from distro.settings import DigestSettings
from distro.store import editions
from distro.store.recipients import count, recipients


@dataclass(frozen=True, slots=True)
class SentEdition:
    """What sending did: ``digest`` as stored afterwards (None: nothing to send, see ``reason``)."""

    digest: Digest | None
    queued: int  # new outbox rows (0 when it was queued before, or not confirmed)
    recipients: int  # the edition's recipients: its rows with a subscriber (test copies are not)
    reason: str = ""  # why nothing was composed, or that it was queued before
    warnings: tuple[str, ...] = ()  # e.g. over Gmail's clip size
    confirmed: bool = True


@dataclass(frozen=True, slots=True)
class Ready:
    """An edition composed and about to be queued: what a face asks the editor to confirm."""

    digest: Digest
    recipients: int  # exactly the rows queueing would add now
    warnings: tuple[str, ...]


Confirm = Callable[[Ready], bool]
Progress = Callable[[int], AbstractContextManager[Ticker]]  # opened with the number of rows to queue


def count_recipients(app: App, newsletter: DigestSettings) -> int:
    """How many readers an edition of ``newsletter`` queued now goes to."""
    return count(app.engine, newsletter)


def send_edition(
    app: App,
    newsletter: DigestSettings,
    now: datetime | None = None,
    *,
    at: datetime | None = None,
    refresh: bool = False,
    confirm: Confirm | None = None,
    progress: Progress | None = None,
    actor: str | None = None,
) -> SentEdition:
    """Queue ``newsletter``'s edition of the period holding ``at`` (default ``now``) for every recipient.

    Without ``refresh`` the edition goes out as stored (previewed, edited, scheduled), composed now if it
    never was; with ``refresh`` (the scheduler and the main job, at send time) a composed edition is
    composed again with its window moved on to ``now``, the editor's choices kept. ``confirm`` sees the
    edition and its recipient count before anything is queued and may decline; ``progress`` is opened
    with that count around the queueing. Idempotent: sending again queues only readers added since.
    ``actor`` (a face naming who asked) is written to the activity record.
    """
    opened = (
        recompose_edition(app, newsletter, now, at=at, refresh=True)
        if refresh
        else open_edition(app, newsletter, now, at=at)
    )
    if opened.digest is None:
        return SentEdition(None, 0, 0, reason=opened.reason)
    report = require_safe(app, newsletter, opened.digest)  # before the editor is asked to confirm
    warnings: tuple[str, ...] = (opened.warning,) if opened.warning else ()
    warnings += tuple(f"{w.check}: {w.message}" for w in report.warnings)
    total = count_recipients(app, newsletter) if confirm or progress else 0
    if confirm is not None and not confirm(Ready(opened.digest, total, warnings)):
        return SentEdition(opened.digest, 0, 0, "not confirmed", warnings, confirmed=False)
    with progress(total) if progress is not None else nullcontext(None) as ticker:
        sent = queue_edition(app, newsletter, opened.digest, progress=ticker)
    detail = f"{sent.queued} new rows queued, {sent.recipients} readers"
    record(app, actor=actor, action="edition.send", subject=f"edition {opened.digest.slug}", detail=detail)
    return replace(sent, reason=opened.reason, warnings=warnings)


def queue_edition(
    app: App, newsletter: DigestSettings, digest: Digest, *, progress: Ticker | None = None
) -> SentEdition:
    """One outbox row per recipient of the stored ``digest`` (idempotent), then mark it queued.

    Every section variant the recipients need is composed and checked first, so a template error stops
    the edition before its first row. :func:`send_edition` is the way to send; this is its second half,
    for an edition already open (a hand-scheduled one goes out exactly as it was previewed).
    """
    if digest.newsletter != newsletter.slug_prefix:
        raise DistroError(
            f"edition {digest.slug} is of newsletter {digest.newsletter!r}, not {newsletter.slug_prefix!r}"
        )
    require_safe(app, newsletter, digest)  # the pre-flight: a one-line reason, and nothing is queued
    keys = {sections_key(s.sections) for s in recipients(app.engine, newsletter)}
    compose_variants(app, newsletter, digest, keys)
    rows = (
        {
            "key": f"digest:{digest.slug}:{subscriber.id}",
            "channel": "email",
            "recipient": subscriber.email,
            "digest_id": digest.id,
            "subscriber_id": subscriber.id,
        }
        for subscriber in recipients(app.engine, newsletter)
    )
    created = outbox.enqueue_many(app.engine, _ticking(rows, progress))
    stored = editions.mark_queued(app.engine, digest.id or 0)
    return SentEdition(stored, created, stored.recipients)


def _ticking(rows: Iterator[dict[str, Any]], progress: Ticker | None) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield row
        if progress is not None:
            progress.advance()
