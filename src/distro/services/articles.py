"""Drafts -> article rows, the one way a poll, a CMS webhook and a WebSub push store what they bring.

An article is the same article when its GUID matches, or failing that its URL (sources give the canonical
URL), so the same story from a feed and from the CMS webhook is stored once. A draft whose
``modified_at`` is older than the stored version's is stale: a replayed or overtaken push never reverts a
newer edit. A draft without one (most feeds) updates as before.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from sqlmodel import Session

from distro.app import App
from distro.db import session_scope
from distro.models import Article, utcnow
from distro.services import events
from distro.sources.base import ArticleDraft
from distro.store import articles, sources

_EDITABLE = ("title", "summary", "author", "section", "image_url", "published_at", "word_count", "image_alt")


@dataclass(frozen=True, slots=True)
class IngestReport:
    source: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    not_modified: bool = False
    error: str | None = None
    backlog: int = 0  # of ``new``: back catalogue recorded as seen on a first poll, never sent
    stale: int = 0  # older than the version stored (by the source's modified time): left alone


def _known(session: Session, drafts: Sequence[ArticleDraft]) -> dict[str, Article | SimpleNamespace]:
    """The stored articles the drafts may be, by ``guid:<guid>`` and ``url:<url>``."""
    guids = [d.guid for d in drafts if d.guid]
    known: dict[str, Article | SimpleNamespace] = {}
    for article in articles.matching(session, guids, [d.url for d in drafts]):
        if article.guid:
            known["guid:" + article.guid] = article
        known["url:" + article.url] = article
    return known


def _new_row(source_id: int | None, draft: ArticleDraft, *, backlog: bool, now: datetime) -> SimpleNamespace:
    """A new article's column values, kept as attributes so a later draft of the same story in this batch
    updates it exactly as it would update a stored one (:func:`_update`)."""
    return SimpleNamespace(
        source_id=source_id,
        guid=draft.guid,
        url=draft.url,
        title=draft.title,
        summary=draft.summary,
        author=draft.author,
        section=draft.section,
        image_url=draft.image_url,
        image_alt=draft.image_alt,
        word_count=draft.word_count or 0,
        published_at=draft.published_at,
        source_modified_at=draft.modified_at,
        first_seen_at=now,
        updated_at=now,
        backlog=backlog,
    )


def _update(existing: Article | SimpleNamespace, draft: ArticleDraft, now: datetime) -> str:
    """Apply an edited draft to its stored (or new) article: ``stale``, ``updated`` or ``unchanged``."""
    known_version = existing.source_modified_at
    if draft.modified_at is not None and known_version is not None and draft.modified_at < known_version:
        return "stale"
    if draft.modified_at is not None:
        existing.source_modified_at = draft.modified_at
    changes = {f: getattr(draft, f) for f in _EDITABLE if getattr(draft, f) is not None}
    changes = {f: v for f, v in changes.items() if getattr(existing, f) != v}
    if not changes:
        return "unchanged"
    for name, value in changes.items():
        setattr(existing, name, value)
    existing.updated_at = now
    return "updated"


def store_drafts(
    session: Session,
    source_id: int | None,
    drafts: Sequence[ArticleDraft],
    *,
    backlog: Collection[int] = frozenset(),
) -> tuple[int, int, int, int]:
    """Insert new articles, update edited ones; return (new, updated, unchanged, stale).

    ``backlog`` holds positions in ``drafts`` whose new rows are back catalogue; existing rows keep theirs.
    New rows are inserted together, in draft order, in pages (:func:`distro.store.articles.insert_many`):
    a first poll of a 10,000-item back catalogue is a few statements, not 10,000 ORM objects. They are
    part of the caller's transaction, so a poll is still stored whole or not at all.
    """
    known = _known(session, drafts)
    counts = {"new": 0, "updated": 0, "unchanged": 0, "stale": 0}
    now = utcnow()
    new_rows: list[SimpleNamespace] = []
    for index, draft in enumerate(drafts):
        existing = known.get(f"guid:{draft.guid}") if draft.guid else None
        existing = existing or known.get("url:" + draft.url)
        if existing is None:
            row = _new_row(source_id, draft, backlog=index in backlog, now=now)
            new_rows.append(row)
            if draft.guid:
                known["guid:" + draft.guid] = row
            known["url:" + draft.url] = row
            counts["new"] += 1
        else:
            counts[_update(existing, draft, now)] += 1
    articles.insert_many(session, [vars(row) for row in new_rows])
    events.articles_published(session, new_rows)  # outgoing webhooks, in this transaction
    return counts["new"], counts["updated"], counts["unchanged"], counts["stale"]


def list_articles(app: App, limit: int) -> list[Article]:
    """Stored articles, the ``limit`` published last first (``distro articles list``)."""
    return articles.by_publication(app.engine, limit)


def store_pushed(app: App, source_name: str, kind: str, drafts: Sequence[ArticleDraft]) -> IngestReport:
    """Store articles pushed to us (CMS webhook, WebSub) exactly as a poll would, never as back catalogue."""
    with session_scope(app.engine) as session:
        row = sources.named(session, source_name, url="", kind=kind)
        row.seeded_at = row.seeded_at or utcnow()
        new, updated, unchanged, stale = store_drafts(session, row.id, drafts)
    return IngestReport(source_name, new=new, updated=updated, unchanged=unchanged, stale=stale)
