"""Subscribers as the desk shows and changes them: search, a reader's page, their choices and history,
and the editor's actions on them (pause, sections and newsletters, unsubscribe, suppress, forget), each
recorded in the activity record in the transaction that makes the change.

The import and export are the CLI's own (:func:`~distro.services.subscribers.import_csv`,
:func:`~distro.services.subscribers.export_csv`), so both faces report the same line numbers and write the
same columns. Forgetting needs the reader's address typed again: it cannot be undone.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from sqlmodel import Session

from distro.app import App
from distro.db import session_scope
from distro.errors import InvalidInput, NotFound
from distro.models import (
    BounceEvent,
    Delivery,
    DeliveryAttempt,
    LinkClick,
    OpenHit,
    Signup,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
    utcnow,
)
from distro.services.activity import record, record_activity
from distro.services.privacy import forget_subscriber
from distro.services.signup import clean_newsletters, clean_sections
from distro.services.subscriber_csv import ImportRefused
from distro.services.subscribers import ImportReport, export_csv, import_csv, receiving
from distro.services.suppression import suppress, unsuppress
from distro.store import bounce_events, clicks, deliveries, subscribers
from distro.store import subscriber_search as search_store
from distro.store.subscriber_search import Wanted

PAGE_SIZE = 50
STATUSES = search_store.STATUSES  # what the status filter offers
MAX_HISTORY = 500  # deliveries shown on a reader's page (newest first); the CLI export has them all
MAX_UPLOAD = 20 * 1024 * 1024


def desk_status(subscriber: Subscriber, reason: str | None, now: datetime) -> str:
    """One word for the list: the suppression list wins (nothing is sent), then a running pause."""
    if reason is not None:
        if reason in (SuppressionReason.HARD_BOUNCE, SuppressionReason.SOFT_BOUNCE):
            return "bounced"
        return "complained" if reason == SuppressionReason.COMPLAINT else "suppressed"
    if (
        subscriber.status == SubscriberStatus.ACTIVE
        and subscriber.paused_until
        and subscriber.paused_until > now
    ):
        return "paused"
    return str(subscriber.status)


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    email: str
    name: str | None
    status: str
    sections: list[str] | None
    newsletters: list[str]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page: subscribers (or, for ``unconfirmed``, sign-ups waiting for their click), newest first;
    ``older`` is the id to continue below (None at the end)."""

    wanted: Wanted
    rows: list[Row]
    pending: list[Signup]
    older: int | None


def search(
    app: App,
    *,
    q: str = "",
    status: str = "",
    newsletter: str = "",
    section: str = "",
    before: int | None = None,
    limit: int = PAGE_SIZE,
    now: datetime | None = None,
) -> SearchPage:
    """Subscribers by address or name (``q``, any part, any case), status, newsletter and section."""
    now = now or utcnow()
    if status and status not in STATUSES:
        raise InvalidInput(f"status {status!r} is not one of {', '.join(STATUSES)}")
    chosen = next((n for n in app.settings.all_newsletters if n.slug_prefix == newsletter), None)
    if newsletter and chosen is None:
        raise InvalidInput(f"no newsletter {newsletter!r}")
    if section and section not in app.settings.digest.sections:
        raise InvalidInput(f"no section {section!r}")
    wanted = Wanted(
        q.strip()[:320], status, newsletter, bool(chosen and chosen.subscribe_by_default), section
    )
    if status == "unconfirmed":
        pending = list(search_store.unconfirmed(app.engine, wanted.q, before=before, limit=limit + 1))
        more = len(pending) > limit
        pending = pending[:limit]
        return SearchPage(wanted, [], pending, pending[-1].id if more and pending else None)
    found = search_store.search(app.engine, wanted, before=before, limit=limit + 1, now=now)
    more = len(found) > limit
    rows = [
        Row(
            s.id or 0,
            s.email,
            s.name,
            desk_status(s, reason, now),
            s.sections,
            [n.slug_prefix for n in receiving(app.settings, s)],
            s.created_at,
        )
        for s, reason in found[:limit]
    ]
    return SearchPage(wanted, rows, [], rows[-1].id if more and rows else None)


@dataclass(frozen=True, slots=True)
class Sent:
    delivery: Delivery
    attempts: list[DeliveryAttempt]
    edition: str | None


@dataclass(frozen=True, slots=True)
class Reader:
    """Everything the desk shows about one subscriber."""

    subscriber: Subscriber
    status: str
    suppression: Suppression | None
    newsletters: list[str]  # the ones they get
    deliveries: list[Sent]
    more_deliveries: int  # beyond MAX_HISTORY
    bounces: list[BounceEvent]
    per_reader: bool  # tracking.per_reader: clicks and opens are stored per reader
    clicks: list[LinkClick] = field(default_factory=list)
    opens: list[OpenHit] = field(default_factory=list)


def reader(app: App, subscriber_id: int, now: datetime | None = None) -> Reader:
    now = now or utcnow()
    with session_scope(app.engine) as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None:
            raise NotFound(f"no subscriber {subscriber_id} (forgotten, or never there)")
        delivered = list(deliveries.of_reader(session, subscriber.email, subscriber.id))
        delivered.reverse()
        shown, more = delivered[:MAX_HISTORY], max(0, len(delivered) - MAX_HISTORY)
        attempts: dict[int, list[DeliveryAttempt]] = {}
        for attempt in deliveries.attempts_of(session, [d.id or 0 for d in shown]):
            attempts.setdefault(attempt.delivery_id, []).append(attempt)
        bounced = list(bounce_events.of_reader(session, subscriber.email.lower()))
        per_reader = app.settings.tracking.per_reader
        clicked, opened = clicks.of_reader(session, subscriber_id) if per_reader else ([], [])
        for row in [
            subscriber,
            *shown,
            *bounced,
            *clicked,
            *opened,
            *(a for v in attempts.values() for a in v),
        ]:
            session.expunge(row)
    editions = clicks.slugs_of(app.engine, {d.digest_id for d in shown if d.digest_id is not None})
    suppression = search_store.reason_of(app.engine, subscriber.email)
    return Reader(
        subscriber,
        desk_status(subscriber, suppression.reason if suppression else None, now),
        suppression,
        [n.slug_prefix for n in receiving(app.settings, subscriber)],
        [Sent(d, attempts.get(d.id or 0, []), editions.get(d.digest_id or 0)) for d in shown],
        more,
        bounced,
        per_reader,
        list(clicked),
        list(opened),
    )


def _subject(subscriber: Subscriber) -> str:
    return f"subscriber {subscriber.email}"


def pause(app: App, subscriber_id: int, weeks: int, *, actor: str) -> Subscriber:
    """Pause the digests for ``weeks`` (0 ends a pause), as the reader's own page would."""
    limit = app.settings.web.max_pause_weeks
    if not 0 <= weeks <= limit:
        raise InvalidInput(f"a pause is between 0 and {limit} weeks, not {weeks}")
    with session_scope(app.engine) as session:
        subscriber = _held(session, subscriber_id)
        subscriber.paused_until = utcnow() + timedelta(weeks=weeks) if weeks else None
        said = f"paused for {weeks} weeks" if weeks else "pause ended"
        record_activity(
            session, actor=actor, action="subscriber.update", subject=_subject(subscriber), detail=said
        )
        return _done(session, subscriber)


def choose(
    app: App, subscriber_id: int, *, sections: list[str], newsletters: list[str], actor: str
) -> Subscriber:
    """Set the reader's sections (none or all: every section) and newsletters (at least one)."""
    chosen = clean_newsletters(app, newsletters)
    if chosen is None:
        raise InvalidInput("choose at least one newsletter, or unsubscribe them to receive none")
    kept = clean_sections(app, sections)
    with session_scope(app.engine) as session:
        subscriber = _held(session, subscriber_id)
        subscriber.sections, subscriber.newsletters = kept, chosen
        said = f"sections: {', '.join(kept) if kept else 'all'}; newsletters: {', '.join(chosen)}"
        record_activity(
            session, actor=actor, action="subscriber.update", subject=_subject(subscriber), detail=said
        )
        return _done(session, subscriber)


def unsubscribe(app: App, subscriber_id: int, *, actor: str) -> bool:
    """Unsubscribe the reader from everything; False when they already were."""
    with session_scope(app.engine) as session:
        subscriber = _held(session, subscriber_id)
        changed = subscribers.set_status(subscriber, SubscriberStatus.UNSUBSCRIBED)
        if changed:
            session.add(subscriber)
            record_activity(
                session, actor=actor, action="subscriber.unsubscribe", subject=_subject(subscriber)
            )
        return changed


def block(app: App, subscriber_id: int, *, on: bool, actor: str) -> bool:
    """Put the reader's address on the suppression list (``on``) or take it off; False: nothing changed."""
    email = _address(app, subscriber_id)
    if on:
        return suppress(app.engine, email, SuppressionReason.MANUAL, "by an editor on the desk", actor=actor)
    return unsuppress(app.engine, email, actor=actor)


def forget(app: App, subscriber_id: int, typed: str, *, actor: str) -> dict[str, int]:
    """Forget the reader (:func:`~distro.services.privacy.forget_subscriber`) once ``typed`` is their
    address (any case): the confirmation that this is the reader meant, since it cannot be undone."""
    email = _address(app, subscriber_id)
    if typed.strip().casefold() != email.casefold():
        raise InvalidInput("type the reader's address exactly to confirm; nothing was forgotten")
    return forget_subscriber(app, email, actor=actor)


def import_upload(app: App, data: bytes, filename: str, *, actor: str) -> ImportReport:
    """Import an uploaded CSV exactly as ``distro subscribers import`` does (same checks, same report)."""
    name = Path(filename.replace("\\", "/")).name[:100] or "upload.csv"
    if not data:
        raise ImportRefused(f"{name}: the file is empty")
    with tempfile.TemporaryDirectory(prefix="distro-upload-") as folder:
        path = Path(folder) / "upload.csv"
        path.write_bytes(data)
        try:
            return import_csv(app, path, actor=actor, name=name)
        except ImportRefused as exc:  # name the file as the editor knows it, not the temporary copy
            raise ImportRefused(str(exc).replace(str(path), name)) from None


def export(app: App, handle: TextIO, *, actor: str) -> int:
    """Every subscriber as CSV (the CLI's columns); the export itself is recorded: it is personal data
    leaving the system."""
    count = export_csv(app, handle)
    record(app, actor=actor, action="subscriber.export", subject="every subscriber", detail=f"{count} rows")
    return count


def _held(session: Session, subscriber_id: int) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id, with_for_update=True)
    if subscriber is None:
        raise NotFound(f"no subscriber {subscriber_id} (forgotten, or never there)")
    return subscriber


def _done(session: Session, subscriber: Subscriber) -> Subscriber:
    session.add(subscriber)
    session.flush()
    session.refresh(subscriber)
    session.expunge(subscriber)
    return subscriber


def _address(app: App, subscriber_id: int) -> str:
    found = subscribers.get(app.engine, subscriber_id)
    if found is None:
        raise NotFound(f"no subscriber {subscriber_id} (forgotten, or never there)")
    return found.email
