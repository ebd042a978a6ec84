"""Editions: the stored digests, their section variants, the editor's edits and the test copies.

Every function is one transaction on the engine and returns detached rows, so a use case can hold them
across the slow parts (rendering, queueing) without keeping a session open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from distro.db import session_scope
from distro.models import (
    Article,
    Delivery,
    DeliveryStatus,
    Digest,
    DigestEdit,
    DigestStatus,
    DigestVariant,
    utcnow,
)
from distro.store import transitions, webhook_events
from distro.store.articles import FRESH

_Row = TypeVar("_Row", Digest, DigestEdit, Delivery)
TEST_KEY_PREFIX = "test:"  # outbox key of a test copy: test:<slug>:<n>, no subscriber
_COMPOSED_FIELDS = (
    "subject",
    "html",
    "text",
    "message_template",
    "window_start",
    "window_end",
    "article_ids",
)


def _detached(session: Session, row: _Row) -> _Row:
    session.flush()
    session.refresh(row)
    session.expunge(row)
    return row


def find(engine: Engine, slug: str) -> Digest | None:
    """The stored edition ``slug``, if any."""
    with session_scope(engine) as session:
        return session.exec(select(Digest).where(Digest.slug == slug)).first()


def status_of(engine: Engine, slug: str) -> str | None:
    with session_scope(engine) as session:
        return session.exec(select(Digest.status).where(Digest.slug == slug)).first()


def previous_window_end(engine: Engine, newsletter: str, *, besides: str) -> datetime | None:
    """Where the newsletter's latest edition other than ``besides`` stopped reading articles."""
    with session_scope(engine) as session:
        return session.exec(
            select(Digest.window_end)
            .where(Digest.newsletter == newsletter, Digest.slug != besides)
            .order_by(col(Digest.window_end).desc())
        ).first()


def articles_in_window(engine: Engine, start: datetime, end: datetime) -> list[Article]:
    """Articles first seen in (``start``, ``end``], newest first, without any source's back catalogue."""
    newest = sa.func.coalesce(col(Article.published_at), col(Article.first_seen_at))
    with session_scope(engine) as session:
        query = (
            select(Article)
            .where(col(Article.first_seen_at) > start, col(Article.first_seen_at) <= end)
            .where(FRESH)
            .order_by(newest.desc(), col(Article.id))
        )
        return list(session.exec(query))


def articles(engine: Engine, ids: Iterable[int]) -> list[Article]:
    with session_scope(engine) as session:
        return list(session.exec(select(Article).where(col(Article.id).in_(list(ids)))))


def store_composed(engine: Engine, draft: Digest, *, replacing: int | None) -> Digest:
    """Insert the newly composed ``draft``, or write its content over edition ``replacing`` (whose section
    variants go: they were composed from the old content)."""
    with session_scope(engine) as session:
        if replacing is None:
            session.add(draft)
            return _detached(session, draft)
        digest = session.get_one(Digest, replacing)
        transitions.check(digest.status, DigestStatus.COMPOSED)  # a queued edition never changes
        session.exec(delete(DigestVariant).where(col(DigestVariant.digest_id) == replacing))
        for name in _COMPOSED_FIELDS:
            setattr(digest, name, getattr(draft, name))
        session.add(digest)
        return _detached(session, digest)


def variant_keys(engine: Engine, digest_id: int) -> set[str]:
    with session_scope(engine) as session:
        query = select(DigestVariant.sections_key).where(DigestVariant.digest_id == digest_id)
        return set(session.exec(query))


def add_variants(engine: Engine, variants: Sequence[DigestVariant]) -> None:
    with session_scope(engine) as session:
        session.add_all(variants)


def variant(engine: Engine, digest_id: int, key: str) -> DigestVariant | None:
    with session_scope(engine) as session:
        query = select(DigestVariant).where(
            DigestVariant.digest_id == digest_id, DigestVariant.sections_key == key
        )
        return session.exec(query).first()


def with_variants(engine: Engine, digest_id: int) -> tuple[Digest, list[DigestVariant]]:
    """An edition and every section variant of it: what the message builder prepares once."""
    with session_scope(engine) as session:
        digest = session.get_one(Digest, digest_id)
        query = select(DigestVariant).where(DigestVariant.digest_id == digest_id)
        return digest, list(session.exec(query))


def mark_queued(engine: Engine, digest_id: int) -> Digest:
    """Record that the edition's rows are queued: its recipients are its rows with a subscriber (test
    copies are not recipients); the first queueing time is kept."""
    with session_scope(engine) as session:
        digest = session.get_one(Digest, digest_id)
        transitions.check(digest.status, DigestStatus.QUEUED)
        total = session.exec(
            select(sa.func.count())
            .select_from(Delivery)
            .where(Delivery.digest_id == digest_id, col(Delivery.subscriber_id).is_not(None))
        ).one()
        digest.recipients = int(total)
        first = digest.status != DigestStatus.QUEUED
        digest.status = DigestStatus.QUEUED
        digest.queued_at = digest.queued_at or utcnow()
        session.add(digest)
        if first:
            webhook_events.edition_queued(session, digest)  # outgoing webhooks, in this transaction
        return _detached(session, digest)


def load_edit(engine: Engine, slug: str) -> DigestEdit | None:
    with session_scope(engine) as session:
        return session.exec(select(DigestEdit).where(DigestEdit.slug == slug)).first()


def update_edit(engine: Engine, slug: str, change: Callable[[DigestEdit, Digest | None], None]) -> DigestEdit:
    """Apply ``change`` to the edit of ``slug`` (a new one if there is none) in one transaction with the
    edition it edits (None: not composed yet); ``change`` raises to refuse, and nothing is written."""
    with session_scope(engine) as session:
        digest = session.exec(select(Digest).where(Digest.slug == slug)).first()
        edit = session.exec(select(DigestEdit).where(DigestEdit.slug == slug)).first()
        edit = edit or DigestEdit(slug=slug)
        change(edit, digest)
        edit.updated_at = utcnow()
        session.add(edit)
        return _detached(session, edit)


def waiting_edits(engine: Engine) -> list[tuple[DigestEdit, Digest | None]]:
    """Every edit with a hand-set time whose edition is not queued, soonest first, with its edition
    (None if it was never composed)."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(DigestEdit, Digest)
            .join(Digest, col(Digest.slug) == col(DigestEdit.slug), isouter=True)
            .where(col(DigestEdit.send_at).is_not(None))
            .order_by(col(DigestEdit.send_at))
        ).all()
        for edit, digest in rows:
            session.expunge(edit)
            if digest is not None:
                session.expunge(digest)
    return [(e, d) for e, d in rows if d is None or d.status == DigestStatus.COMPOSED]


def add_test_copy(engine: Engine, digest: Digest, to: str, *, worker: str, lease_until: datetime) -> Delivery:
    """A test copy's outbox row (key ``test:<slug>:<n>``, numbered per edition), leased to ``worker``, who
    sends it at once."""
    prefix = f"{TEST_KEY_PREFIX}{digest.slug}:"
    with session_scope(engine) as session:
        number = session.exec(
            select(sa.func.count()).select_from(Delivery).where(col(Delivery.key).startswith(prefix))
        ).one()
        row = Delivery(
            key=f"{prefix}{int(number) + 1}",
            channel="email",
            recipient=to,
            digest_id=digest.id,
            status=DeliveryStatus.SENDING,
            attempts=1,
            lease_owner=worker,
            lease_until=lease_until,
        )
        session.add(row)
        return _detached(session, row)


def delivery(engine: Engine, delivery_id: int) -> Delivery:
    """One outbox row as it stands (a test copy after its send)."""
    with session_scope(engine) as session:
        return session.get_one(Delivery, delivery_id)


def sent_editions(engine: Engine, newsletter: str | None, *, limit: int) -> list[Digest]:
    """Queued (sent) editions, newest first, of one newsletter or all."""
    query = select(Digest).where(Digest.status == DigestStatus.QUEUED, col(Digest.queued_at).is_not(None))
    if newsletter is not None:
        query = query.where(Digest.newsletter == newsletter)
    with session_scope(engine) as session:
        rows = session.exec(query.order_by(col(Digest.queued_at).desc(), col(Digest.id).desc()).limit(limit))
        return [_detached(session, row) for row in rows]
