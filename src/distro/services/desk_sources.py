"""Sources on the desk: add a feed, WordPress site or page (after a dry run), pause, poll now, remove.

A dry run fetches through the same code as a poll (:func:`distro.sources.make_source`: its limits and its
refusal of private addresses) and shows what the first poll would store: each item with its title, date
and section, and whether it would be new, back catalogue (recorded as seen, never sent; all but the
``backfill`` newest) or is already stored. Nothing is written by a dry run. Adding stores the entry and
polls it once, so what the editor saw is what gets stored. Removing a source keeps its articles (and its
poll state, so re-adding it later does not mark a back catalogue again). Sources in the TOML file can be
polled from here but not paused or removed: the file is theirs. Every change is in the activity record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from distro.app import App
from distro.db import session_scope
from distro.errors import InvalidInput, NotFound, Refused, SourceError
from distro.models import DeskSource
from distro.services.activity import record_activity
from distro.services.articles import IngestReport
from distro.services.ingest import backlog_indexes, ingest_source
from distro.services.source_list import every_source
from distro.settings import SourceSettings
from distro.sources import make_source
from distro.store import articles, sources
from distro.urls import strip_credentials

KINDS = ("feed", "wordpress", "page")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,99}$")
MAX_BACKFILL = 1000
NEW, BACKLOG, STORED = "new", "back catalogue", "already stored"


@dataclass(frozen=True, slots=True)
class NewSource:
    """What the add form asks for (the rest of a ``[[sources]]`` entry keeps its defaults)."""

    name: str
    url: str
    kind: str = "feed"
    backfill: int = 0
    allow_private_addresses: bool = False


@dataclass(frozen=True, slots=True)
class PreviewItem:
    title: str
    url: str
    published_at: datetime | None
    section: str | None
    fate: str  # NEW, BACKLOG or STORED


@dataclass(frozen=True, slots=True)
class DryRun:
    source: NewSource
    items: list[PreviewItem]
    error: str | None = None  # the fetch failed: nothing would be stored
    websub_hub: str | None = None

    def count(self, fate: str) -> int:
        return sum(1 for item in self.items if item.fate == fate)


def parse_new_source(*, name: str, url: str, kind: str, backfill: str, private: bool = False) -> NewSource:
    """The add form's fields, checked; a clear one-line InvalidInput for the first wrong one."""
    name, url = name.strip(), url.strip()
    if not NAME.match(name):
        raise InvalidInput(
            "give the source a name of 1-100 letters, digits, spaces, dots, dashes or underscores"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{strip_credentials(url)[:200]!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise InvalidInput(
            "a URL with a user name or password is not stored on the desk; put the source in the "
            "config file and its credentials in DISTRO_SOURCE_HEADERS"
        )
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}, not {kind[:40]!r}")
    try:
        count = int(backfill.strip() or "0")
    except ValueError:
        raise InvalidInput(f"backfill must be a whole number, not {backfill[:40]!r}") from None
    if not 0 <= count <= MAX_BACKFILL:
        raise InvalidInput(f"backfill must be between 0 and {MAX_BACKFILL}, not {count}")
    return NewSource(name, url, kind, count, private)


def _settings(app: App, new: NewSource) -> SourceSettings:
    if new.allow_private_addresses and not app.settings.web.desk_private_sources:
        raise Refused(
            "private addresses are refused for sources added on the desk "
            "(the operator can allow them with web.desk_private_sources = true)"
        )
    return SourceSettings(
        name=new.name,
        url=new.url,
        kind=new.kind,  # type: ignore[arg-type]  # one of KINDS
        backfill=new.backfill,
        allow_private_addresses=new.allow_private_addresses,
    )


def _check_name_free(app: App, name: str) -> None:
    if any(c.name == name for c in every_source(app, include_paused=True)):
        raise InvalidInput(f"a source called {name!r} exists already; choose another name")


def dry_run(app: App, new: NewSource) -> DryRun:
    """What adding ``new`` would store on its first poll; fetches, writes nothing."""
    _check_name_free(app, new.name)
    config = _settings(app, new)
    try:
        result = make_source(config, user_agent=app.settings.user_agent).fetch()
    except SourceError as exc:
        return DryRun(new, [], error=strip_credentials(str(exc)))
    drafts = result.drafts
    with session_scope(app.engine) as session:
        state = sources.by_name(session, new.name)
        seeded = state is not None and state.seeded_at is not None
        found = articles.matching(session, [d.guid for d in drafts if d.guid], [d.url for d in drafts])
        known = {a.url for a in found} | {a.guid for a in found if a.guid}
    backlog = frozenset() if seeded else backlog_indexes(drafts, new.backfill)
    items = [
        PreviewItem(
            d.title,
            d.url,
            d.published_at,
            d.section,
            STORED if d.url in known or (d.guid and d.guid in known) else BACKLOG if i in backlog else NEW,
        )
        for i, d in enumerate(drafts)
    ]
    return DryRun(new, items, websub_hub=result.hub)


def add_source(app: App, new: NewSource, *, actor: str) -> IngestReport:
    """Store ``new`` beside the TOML sources and poll it once (its report; a failed poll keeps the
    source, with the error shown on its row, and the scheduler tries again)."""
    _check_name_free(app, new.name)
    config = _settings(app, new)
    with session_scope(app.engine) as session:
        session.add(
            DeskSource(
                name=new.name,
                url=new.url,
                kind=new.kind,
                backfill=new.backfill,
                allow_private_addresses=new.allow_private_addresses,
                created_by=actor,
            )
        )
        record_activity(
            session, actor=actor, action="source.add", subject=f"source {new.name}", detail=new.url
        )
    return ingest_source(app, config)


def _desk_entry(app: App, name: str) -> None:
    if any(c.name == name for c in app.settings.sources):
        raise Refused(f"source {name!r} is in the config file: change it there")


def set_paused(app: App, name: str, paused: bool, *, actor: str) -> None:
    """Leave a desk source out of the polls (or put it back); its articles and state stay."""
    _desk_entry(app, name)
    with session_scope(app.engine) as session:
        entry = sources.desk_entry(session, name)
        if entry is None:
            raise NotFound(f"no source added on the desk is called {name!r}")
        entry.paused = paused
        action = "source.pause" if paused else "source.resume"
        record_activity(session, actor=actor, action=action, subject=f"source {name}")


def poll_now(app: App, name: str, *, actor: str) -> IngestReport:
    """Poll one source (from the file or the desk, paused or not) at once, as the scheduler would."""
    config = next((c for c in every_source(app, include_paused=True) if c.name == name), None)
    if config is None:
        raise NotFound(f"no source is called {name!r}")
    report = ingest_source(app, config)
    outcome = report.error or f"{report.new} new, {report.updated} updated"
    with session_scope(app.engine) as session:
        record_activity(session, actor=actor, action="source.poll", subject=f"source {name}", detail=outcome)
    return report


def remove_source(app: App, name: str, *, actor: str) -> None:
    """Stop polling a desk source for good; its articles are kept (and still go out if fresh)."""
    _desk_entry(app, name)
    with session_scope(app.engine) as session:
        entry = sources.desk_entry(session, name)
        if entry is None:
            raise NotFound(f"no source added on the desk is called {name!r}")
        session.delete(entry)
        record_activity(
            session, actor=actor, action="source.remove", subject=f"source {name}", detail="articles kept"
        )
