"""Sources -> articles: poll each source and store what it brings as a push would (:mod:`.articles`).

A source's poll time,
validators (ETag / Last-Modified), last error and next poll are kept on its row. A URL's credentials
(``https://user:pw@host/``) are used for the request only: the row, its last error and the name of an
ad hoc source (``distro ingest URL``) keep the URL without them.

The first successful poll of a source records its back catalogue as seen (``Article.backlog``) instead of
sending it: only the newest ``backfill`` items (``--backfill N`` or ``sources.<name>.backfill``) count as
new. Selections for the digest and social posts filter on :data:`distro.store.articles.FRESH`. A feed that
advertises a WebSub hub is subscribed after a successful poll (:mod:`.websub`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from distro.app import App
from distro.db import session_scope
from distro.errors import SourceError
from distro.models import Source, utcnow
from distro.services.articles import IngestReport, store_drafts
from distro.services.source_list import every_source
from distro.services.websub import ensure_subscription
from distro.settings import SourceSettings
from distro.sources import make_source
from distro.sources.base import ArticleDraft, FetchResult
from distro.sources.fetch import SourceUnavailable
from distro.store import articles, sources, websub_subscriptions
from distro.urls import strip_credentials, without_credentials

log = logging.getLogger(__name__)

_OLDEST = datetime.min.replace(tzinfo=UTC)


def configured_sources(app: App, spec: str | None = None) -> list[SourceSettings]:
    """The sources to poll (the TOML file's, then the desk's unpaused ones), or just ``spec`` (a source's
    name, paused or not, or a URL or a path)."""
    if spec is None:
        return every_source(app)
    for source in every_source(app, include_paused=True):
        if spec == source.name:
            return [source]
    return [SourceSettings(name=without_credentials(spec), url=spec)]


def backlog_indexes(drafts: Sequence[ArticleDraft], backfill: int) -> frozenset[int]:
    """Positions of the drafts that are back catalogue: all but the ``backfill`` newest (undated last)."""
    order = sorted(range(len(drafts)), key=lambda i: drafts[i].published_at or _OLDEST, reverse=True)
    return frozenset(order[backfill:])


def _record_failure(app: App, source_id: int | None, exc: SourceError, now: datetime) -> None:
    next_poll = now + timedelta(minutes=app.settings.scheduler.poll_minutes)
    if isinstance(exc, SourceUnavailable) and exc.retry_after is not None:
        next_poll = max(next_poll, now + timedelta(seconds=exc.retry_after))
    sources.record_failure(
        app.engine, source_id, now=now, error=strip_credentials(str(exc)), next_poll=next_poll
    )


def ingest_source(
    app: App, config: SourceSettings, *, backfill: int | None = None, accept_pages: bool = False
) -> IngestReport:
    """Poll one source. A failure is recorded on the source row and returned, never half-stored.

    ``backfill`` overrides ``config.backfill`` for a first poll; later polls store everything as new.
    ``accept_pages`` reads an HTML page at a feed URL as one article (``distro ingest URL``).
    """
    shown = without_credentials(config.url)
    with session_scope(app.engine) as session:
        row = sources.named(session, config.name, url=shown, kind=config.kind)
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
    try:
        ensure_subscription(app, config, hub=result.hub or "", topic=result.topic or config.url)
    except Exception as exc:  # the hub is someone else's server; it must never fail a poll
        log.warning("source %s: WebSub subscription to %s failed: %s", config.name, result.hub, exc)


def ingest(app: App, spec: str | None = None, *, backfill: int | None = None) -> list[IngestReport]:
    """Poll every configured source, or just ``spec`` (a name, or a URL/path read as a feed or a page)."""
    known = every_source(app, include_paused=True) if spec is not None else []
    ad_hoc = spec is not None and all(spec != source.name for source in known)
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
    origin: str = "config"  # config (the TOML file), desk (added on the desk), earlier (polled once, gone)
    paused: bool = False  # a desk source left out of the polls


def list_sources(app: App) -> list[SourceStatus]:
    """Every source, the TOML file's then the desk's, then any polled before that is neither now (an ad hoc
    ``distro ingest URL``, a removed desk source, whose articles are kept), with its poll state."""
    counts = articles.counts_by_source(app.engine)
    rows = {r.name: r for r in sources.every(app.engine)}
    subs = websub_subscriptions.states(app.engine)
    desk = {entry.name: entry for entry in sources.desk_entries(app.engine)}
    configured = {c.name: c for c in every_source(app, include_paused=True)}
    toml = {c.name for c in app.settings.sources}
    statuses = []
    for name in [*configured, *(n for n in rows if n not in configured)]:
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
                next_poll_at=row.next_poll_at if row and not (name in desk and desk[name].paused) else None,
                websub=subs.get(name),
                origin="config" if name in toml else "desk" if name in desk else "earlier",
                paused=name in desk and desk[name].paused,
            )
        )
    return statuses
