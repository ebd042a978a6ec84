"""Sources -> articles: fetch each source, store new articles once, update edited ones.

An article is the same article when its GUID matches, or failing that its URL; either way it is stored
once. A source's poll time, validators (ETag / Last-Modified) and last error are kept on its row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from distro.app import App
from distro.db import session_scope
from distro.errors import SourceError
from distro.models import Article, Source, utcnow
from distro.settings import SourceSettings
from distro.sources.base import ArticleDraft
from distro.sources.feed import FeedSource

_EDITABLE = ("title", "summary", "author", "section", "image_url", "published_at")


@dataclass(frozen=True, slots=True)
class IngestReport:
    source: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    not_modified: bool = False
    error: str | None = None


def configured_sources(app: App, spec: str | None = None) -> list[SourceSettings]:
    """The sources named in settings, or just ``spec`` (a configured name, a URL or a path)."""
    if spec is None:
        return list(app.settings.sources)
    for source in app.settings.sources:
        if spec == source.name:
            return [source]
    return [SourceSettings(name=spec, url=spec)]


def _source_row(session: Session, config: SourceSettings) -> Source:
    row = session.exec(select(Source).where(Source.name == config.name)).first()
    if row is None:
        row = Source(name=config.name, url=config.url, kind=config.kind)
        session.add(row)
        session.flush()
    return row


def store_drafts(
    session: Session, source_id: int | None, drafts: Sequence[ArticleDraft]
) -> tuple[int, int, int]:
    """Insert new articles, update edited ones; return (new, updated, unchanged)."""
    guids = [d.guid for d in drafts if d.guid]
    urls = [d.url for d in drafts]
    known: dict[str, Article] = {}
    for start in range(0, max(len(urls), len(guids)), 500):
        condition = sa.or_(
            Article.guid.in_(guids[start : start + 500]),  # type: ignore[union-attr]
            Article.url.in_(urls[start : start + 500]),
        )  # type: ignore[attr-defined]
        for article in session.exec(select(Article).where(condition)):
            if article.guid:
                known["guid:" + article.guid] = article
            known["url:" + article.url] = article
    new = updated = unchanged = 0
    now = utcnow()
    for draft in drafts:
        existing = known.get(f"guid:{draft.guid}") if draft.guid else None
        existing = existing or known.get("url:" + draft.url)
        if existing is None:
            article = Article(
                source_id=source_id,
                guid=draft.guid,
                url=draft.url,
                title=draft.title,
                summary=draft.summary,
                author=draft.author,
                section=draft.section,
                image_url=draft.image_url,
                published_at=draft.published_at,
                first_seen_at=now,
                updated_at=now,
            )
            session.add(article)
            if draft.guid:
                known["guid:" + draft.guid] = article
            known["url:" + draft.url] = article
            new += 1
            continue
        changes = {f: getattr(draft, f) for f in _EDITABLE if getattr(draft, f) is not None}
        changes = {f: v for f, v in changes.items() if getattr(existing, f) != v}
        if changes:
            for name, value in changes.items():
                setattr(existing, name, value)
            existing.updated_at = now
            updated += 1
        else:
            unchanged += 1
    return new, updated, unchanged


def ingest_source(app: App, config: SourceSettings) -> IngestReport:
    """Poll one source. A failure is recorded on the source row and returned, never half-stored."""
    with session_scope(app.engine) as session:
        row = _source_row(session, config)
        etag, last_modified, source_id = row.etag, row.last_modified, row.id
    now = utcnow()
    next_poll = now + timedelta(minutes=app.settings.scheduler.poll_minutes)
    try:
        result = FeedSource(
            config, etag=etag, last_modified=last_modified, user_agent=app.settings.user_agent
        ).fetch()
    except SourceError as exc:
        with session_scope(app.engine) as session:
            session.execute(
                sa.update(Source)
                .where(Source.id == source_id)  # type: ignore[arg-type]
                .values(last_polled_at=now, last_error=str(exc), next_poll_at=next_poll)
            )
        return IngestReport(config.name, error=str(exc))
    with session_scope(app.engine) as session:
        row = session.get_one(Source, source_id)
        row.last_polled_at, row.last_error, row.next_poll_at = now, None, next_poll
        if result.not_modified:
            return IngestReport(config.name, not_modified=True)
        row.etag, row.last_modified = result.etag, result.last_modified
        if result.permanent_url:
            row.url = result.permanent_url
        new, updated, unchanged = store_drafts(session, source_id, result.drafts)
    return IngestReport(config.name, new=new, updated=updated, unchanged=unchanged)


def ingest(app: App, spec: str | None = None) -> list[IngestReport]:
    return [ingest_source(app, config) for config in configured_sources(app, spec)]
