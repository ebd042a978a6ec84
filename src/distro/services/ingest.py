"""Sources -> articles: fetch each source, store new articles once, update edited ones.

An article is the same article when its GUID matches, or failing that its URL (sources give the canonical
URL), so the same story from a feed and from the CMS webhook is stored once. A source's poll time,
validators (ETag / Last-Modified), last error and next poll are kept on its row. A URL's credentials
(``https://user:pw@host/``) are used for the request only: the row, its last error and the name of an
ad hoc source (``distro ingest URL``) keep the URL without them.

The first successful poll of a source records its back catalogue as seen (``Article.backlog``) instead of
sending it: only the newest ``backfill`` items (``--backfill N`` or ``sources.<name>.backfill``) count as
new. Selections for the digest and social posts filter on :data:`FRESH`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, func, select

from distro.app import App
from distro.db import session_scope
from distro.errors import SourceError
from distro.models import Article, Source, WebSubSubscription, utcnow
from distro.settings import SourceSettings
from distro.sources import make_source
from distro.sources.base import ArticleDraft, FetchResult
from distro.sources.fetch import SourceUnavailable
from distro.urls import strip_credentials, without_credentials

log = logging.getLogger(__name__)

_EDITABLE = ("title", "summary", "author", "section", "image_url", "published_at")
# The predicate for "may be sent": not part of a source's back catalogue.
FRESH = Article.backlog.is_(False)  # type: ignore[attr-defined]
_OLDEST = datetime.min.replace(tzinfo=UTC)


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


def configured_sources(app: App, spec: str | None = None) -> list[SourceSettings]:
    """The sources named in settings, or just ``spec`` (a configured name, a URL or a path)."""
    if spec is None:
        return list(app.settings.sources)
    for source in app.settings.sources:
        if spec == source.name:
            return [source]
    return [SourceSettings(name=without_credentials(spec), url=spec)]


def _source_row(session: Session, config: SourceSettings) -> Source:
    row = session.exec(select(Source).where(Source.name == config.name)).first()
    if row is None:
        row = Source(name=config.name, url=without_credentials(config.url), kind=config.kind)
        session.add(row)
        session.flush()
    return row


def backlog_indexes(drafts: Sequence[ArticleDraft], backfill: int) -> frozenset[int]:
    """Positions of the drafts that are back catalogue: all but the ``backfill`` newest (undated last)."""
    order = sorted(range(len(drafts)), key=lambda i: drafts[i].published_at or _OLDEST, reverse=True)
    return frozenset(order[backfill:])


def store_drafts(
    session: Session,
    source_id: int | None,
    drafts: Sequence[ArticleDraft],
    *,
    backlog: Collection[int] = frozenset(),
) -> tuple[int, int, int, int]:
    """Insert new articles, update edited ones; return (new, updated, unchanged, stale).

    ``backlog`` holds positions in ``drafts`` whose new rows are back catalogue; existing rows keep theirs.
    A draft whose ``modified_at`` is older than the stored version's is stale: a replayed or overtaken push
    never reverts a newer edit. A draft without one (most feeds) updates as before.
    """
    guids = [d.guid for d in drafts if d.guid]
    urls = [d.url for d in drafts]
    known: dict[str, Article] = {}
    for start in range(0, max(len(urls), len(guids)), 500):
        condition = sa.or_(
            Article.guid.in_(guids[start : start + 500]),  # type: ignore[union-attr]
            Article.url.in_(urls[start : start + 500]),  # type: ignore[attr-defined]
        )
        for article in session.exec(select(Article).where(condition)):
            if article.guid:
                known["guid:" + article.guid] = article
            known["url:" + article.url] = article
    new = updated = unchanged = stale = 0
    now = utcnow()
    for index, draft in enumerate(drafts):
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
                source_modified_at=draft.modified_at,
                first_seen_at=now,
                updated_at=now,
                backlog=index in backlog,
            )
            session.add(article)
            if draft.guid:
                known["guid:" + draft.guid] = article
            known["url:" + draft.url] = article
            new += 1
            continue
        known_version = existing.source_modified_at
        if draft.modified_at is not None and known_version is not None and draft.modified_at < known_version:
            stale += 1
            continue
        if draft.modified_at is not None:
            existing.source_modified_at = draft.modified_at
        changes = {f: getattr(draft, f) for f in _EDITABLE if getattr(draft, f) is not None}
        changes = {f: v for f, v in changes.items() if getattr(existing, f) != v}
        if changes:
            for name, value in changes.items():
                setattr(existing, name, value)
            existing.updated_at = now
            updated += 1
        else:
            unchanged += 1
    return new, updated, unchanged, stale


def _record_failure(app: App, source_id: int | None, exc: SourceError, now: datetime) -> None:
    next_poll = now + timedelta(minutes=app.settings.scheduler.poll_minutes)
    if isinstance(exc, SourceUnavailable) and exc.retry_after is not None:
        next_poll = max(next_poll, now + timedelta(seconds=exc.retry_after))
    with session_scope(app.engine) as session:
        session.execute(
            sa.update(Source)
            .where(Source.id == source_id)  # type: ignore[arg-type]
            .values(last_polled_at=now, last_error=strip_credentials(str(exc)), next_poll_at=next_poll)
        )


def ingest_source(
    app: App, config: SourceSettings, *, backfill: int | None = None, accept_pages: bool = False
) -> IngestReport:
    """Poll one source. A failure is recorded on the source row and returned, never half-stored.

    ``backfill`` overrides ``config.backfill`` for a first poll; later polls store everything as new.
    ``accept_pages`` reads an HTML page at a feed URL as one article (``distro ingest URL``).
    """
    with session_scope(app.engine) as session:
        row = _source_row(session, config)
        shown = without_credentials(config.url)
        if row.configured_url != shown:  # new source, or the editor changed its URL
            row.url, row.configured_url = shown, shown
        etag, last_modified, source_id = row.etag, row.last_modified, row.id
        # The configured URL (credentials and all), or after a permanent redirect the new address.
        poll_url = config.url if row.url == shown else row.url
    now = utcnow()
    try:
        source = make_source(
            config if poll_url == config.url else config.model_copy(update={"url": poll_url}),
            etag=etag,
            last_modified=last_modified,
            user_agent=app.settings.user_agent,
            accept_pages=accept_pages,
        )
        result = source.fetch()
    except SourceError as exc:
        _record_failure(app, source_id, exc, now)
        return IngestReport(config.name, error=str(exc))
    report = _store_result(app, config, source_id, result, now, backfill)
    if result.hub and not result.not_modified:
        _subscribe_quietly(app, config, result)
    return report


def _store_result(
    app: App,
    config: SourceSettings,
    source_id: int | None,
    result: FetchResult,
    now: datetime,
    backfill: int | None,
) -> IngestReport:
    with session_scope(app.engine) as session:
        row = session.get_one(Source, source_id)
        row.last_polled_at, row.last_error = now, None
        row.next_poll_at = now + timedelta(minutes=app.settings.scheduler.poll_minutes)
        if result.not_modified:
            return IngestReport(config.name, not_modified=True)
        row.etag, row.last_modified = result.etag, result.last_modified
        moved = without_credentials(result.permanent_url or "")
        if moved and moved != row.url:
            log.warning(
                "source %s moved permanently to %s; polling there from now on (update its url)",
                config.name,
                moved,
            )
            row.url = moved
        backlog: frozenset[int] = frozenset()
        if row.seeded_at is None:
            backlog = backlog_indexes(result.drafts, config.backfill if backfill is None else backfill)
            row.seeded_at = now
        new, updated, unchanged, stale = store_drafts(session, source_id, result.drafts, backlog=backlog)
    return IngestReport(
        config.name, new=new, updated=updated, unchanged=unchanged, backlog=len(backlog), stale=stale
    )


def _subscribe_quietly(app: App, config: SourceSettings, result: FetchResult) -> None:
    """Subscribe to the feed's WebSub hub when needed; polling goes on whatever the hub says."""
    from distro.services.websub import ensure_subscription

    try:
        ensure_subscription(app, config, hub=result.hub or "", topic=result.topic or config.url)
    except Exception as exc:  # the hub is someone else's server; it must never fail a poll
        log.warning("source %s: WebSub subscription to %s failed: %s", config.name, result.hub, exc)


def ingest(app: App, spec: str | None = None, *, backfill: int | None = None) -> list[IngestReport]:
    """Poll every configured source, or just ``spec`` (a name, or a URL/path read as a feed or a page)."""
    ad_hoc = spec is not None and all(spec != source.name for source in app.settings.sources)
    return [
        ingest_source(app, config, backfill=backfill, accept_pages=ad_hoc)
        for config in configured_sources(app, spec)
    ]


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    kind: str
    url: str
    articles: int
    last_polled_at: datetime | None
    last_error: str | None
    next_poll_at: datetime | None
    websub: str | None  # the subscription state when the feed has a hub


def list_sources(app: App) -> list[SourceStatus]:
    """Every configured source and every source polled before, with its poll state (for ``sources list``)."""
    with session_scope(app.engine) as session:
        counts = dict(
            session.exec(select(Article.source_id, func.count()).group_by(Article.source_id)).all()  # type: ignore[arg-type]
        )
        rows = {r.name: r for r in session.exec(select(Source).order_by(Source.name))}
        subs = {s.source_name: s.state for s in session.exec(select(WebSubSubscription))}
    statuses = []
    names = [c.name for c in app.settings.sources] + [
        n for n in rows if n not in {c.name for c in app.settings.sources}
    ]
    configured = {c.name: c for c in app.settings.sources}
    for name in names:
        row = rows.get(name)
        config = configured.get(name)
        statuses.append(
            SourceStatus(
                name=name,
                kind=config.kind if config else (row.kind if row else "feed"),
                url=without_credentials(row.url if row else (config.url if config else "")),
                articles=counts.get(row.id, 0) if row else 0,
                last_polled_at=row.last_polled_at if row else None,
                last_error=strip_credentials(row.last_error) if row and row.last_error else None,
                next_poll_at=row.next_poll_at if row else None,
                websub=subs.get(name),
            )
        )
    return statuses


def store_pushed(app: App, source_name: str, kind: str, drafts: Sequence[ArticleDraft]) -> IngestReport:
    """Store articles pushed to us (CMS webhook, WebSub) exactly as a poll would, never as back catalogue."""
    with session_scope(app.engine) as session:
        row = session.exec(select(Source).where(Source.name == source_name)).first()
        if row is None:
            row = Source(name=source_name, url="", kind=kind)
            session.add(row)
            session.flush()
        row.seeded_at = row.seeded_at or utcnow()
        new, updated, unchanged, stale = store_drafts(session, row.id, drafts)
    return IngestReport(source_name, new=new, updated=updated, unchanged=unchanged, stale=stale)
