"""The public web archive: lists of sent editions, one edition's public copy, the Atom feeds' entries.

What is public: an edition of a newsletter whose ``archive`` setting is on, once it was queued (sent, or
being sent; a hand-scheduled edition only from its time, when it is queued) and unless an editor kept it
out (:func:`set_archived`, the desk and ``distro digest archive``). An edition of a newsletter that is no
longer configured is not shown. The copy is the full, all-sections digest with nothing personal in it
(:func:`distro.compose.archive.public_copy`). Everything a face shows comes from here, so the pages and
the feeds cannot disagree about what is public.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from distro.app import App
from distro.compose.archive import PublicCopy, archive_url, public_copy, signup_url
from distro.errors import NotFound
from distro.models import Digest, utcnow
from distro.services.activity import record
from distro.services.tracking import direct_html
from distro.settings import DigestSettings, Settings
from distro.store import archive as store
from distro.store.archive import ListedEdition

PAGE_SIZE = 20  # editions per list page, and entries per feed
_SLUG = re.compile(r"[A-Za-z0-9_-]{1,100}")  # what a slug can be; anything else is not looked up
_UNKNOWN = "no such edition in the archive"


@dataclass(frozen=True, slots=True)
class Entry:
    """An edition as lists and feeds name it; ``url`` is its archive page."""

    slug: str
    subject: str
    sent_at: datetime
    newsletter: DigestSettings
    url: str


@dataclass(frozen=True, slots=True)
class ArchivePage:
    """One page of a list (``newsletter`` None: every archived newsletter's editions)."""

    entries: list[Entry]
    page: int
    pages: int  # at least 1, even when there is nothing yet
    newsletter: DigestSettings | None
    newsletters: list[DigestSettings]  # the archived ones, for links to their own lists
    url: str  # this list's first page
    feed_url: str


@dataclass(frozen=True, slots=True)
class PublicEdition:
    entry: Entry
    copy: PublicCopy
    list_url: str  # the newsletter's list
    feed_url: str  # the newsletter's feed
    signup_url: str
    several: bool  # the site has several newsletters (the sign-up form names this one)


@dataclass(frozen=True, slots=True)
class Feed:
    """An Atom feed's facts; ``updated`` is the newest entry's time (None: no entry yet)."""

    title: str
    url: str  # the feed itself
    page_url: str  # the list it mirrors
    updated: datetime | None
    entries: list[tuple[Entry, PublicCopy]]


def archived_newsletters(settings: Settings) -> list[DigestSettings]:
    """The newsletters whose editions are public, in configuration order."""
    return [n for n in settings.all_newsletters if n.archive]


def list_url(settings: Settings, newsletter: DigestSettings | None = None) -> str:
    base = f"{settings.web.public_url.rstrip('/')}/archive/"
    return f"{base}{newsletter.slug_prefix}/" if newsletter is not None else base


def edition_url(settings: Settings, slug: str) -> str:
    """Where edition ``slug`` is (or will be, once sent) on the web."""
    return archive_url(settings, slug)


def feed_url(settings: Settings, newsletter: DigestSettings | None = None) -> str:
    return f"{list_url(settings, newsletter)}feed.atom"


def newsletter_of(settings: Settings, prefix: str) -> DigestSettings:
    """The archived newsletter ``prefix`` names; NotFound for any other text."""
    found = next((n for n in archived_newsletters(settings) if n.slug_prefix == prefix), None)
    if found is None:
        raise NotFound(f"no newsletter {prefix!r} in the archive")
    return found


def listing(app: App, prefix: str | None, page: int = 1, now: datetime | None = None) -> ArchivePage:
    """Page ``page`` (from 1) of the editions, newest first; NotFound for an unknown newsletter or a page
    past the last (the first page always exists)."""
    chosen = newsletter_of(app.settings, prefix) if prefix is not None else None
    shown = [chosen] if chosen is not None else archived_newsletters(app.settings)
    now = now or utcnow()
    prefixes = [n.slug_prefix for n in shown]
    total = store.count(app.engine, prefixes, now)
    pages = max(1, -(-total // PAGE_SIZE))
    if page < 1 or page > pages:
        raise NotFound(f"the archive has {pages} page{'s' if pages > 1 else ''}")
    rows = store.listed(app.engine, prefixes, now, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return ArchivePage(
        entries=[_entry(app.settings, row) for row in rows],
        page=page,
        pages=pages,
        newsletter=chosen,
        newsletters=archived_newsletters(app.settings),
        url=list_url(app.settings, chosen),
        feed_url=feed_url(app.settings, chosen),
    )


def edition(app: App, slug: str, now: datetime | None = None) -> PublicEdition:
    """Edition ``slug``'s public copy; NotFound when it is unknown, unsent, kept out or not archived."""
    settings = app.settings
    prefixes = [n.slug_prefix for n in archived_newsletters(settings)]
    digest = store.shown(app.engine, slug, prefixes, now or utcnow()) if _SLUG.fullmatch(slug) else None
    if digest is None:
        raise NotFound(_UNKNOWN)
    entry = _entry(settings, _row(digest))
    return PublicEdition(
        entry=entry,
        copy=_public(app, digest),
        list_url=list_url(settings, entry.newsletter),
        feed_url=feed_url(settings, entry.newsletter),
        signup_url=signup_url(settings),
        several=len(settings.all_newsletters) > 1,
    )


def feed(app: App, prefix: str | None, now: datetime | None = None) -> Feed:
    """The newest :data:`PAGE_SIZE` editions with their full public copies; NotFound for an unknown
    newsletter."""
    settings = app.settings
    chosen = newsletter_of(settings, prefix) if prefix is not None else None
    shown = [chosen] if chosen is not None else archived_newsletters(settings)
    digests = store.newest(app.engine, [n.slug_prefix for n in shown], now or utcnow(), limit=PAGE_SIZE)
    entries = [(_entry(settings, _row(d)), _public(app, d)) for d in digests]
    name = settings.publication.name
    return Feed(
        title=f"{name} · {chosen.name}" if chosen is not None else f"{name} · archive",
        url=feed_url(settings, chosen),
        page_url=list_url(settings, chosen),
        updated=entries[0][0].sent_at if entries else None,
        entries=entries,
    )


def sent_editions(app: App, newsletter: DigestSettings, *, limit: int = 5) -> list[ListedEdition]:
    """The newsletter's latest sent editions, shown or kept out (for the desk's archive switches)."""
    return store.sent(app.engine, newsletter.slug_prefix, limit=limit)


def set_archived(app: App, slug: str, archived: bool, *, actor: str | None = None) -> Digest:
    """Keep edition ``slug`` out of the archive (``archived`` False) or show it once sent; NotFound when
    there is no such edition. Its content is untouched: a queued edition still never changes."""
    digest = store.set_archived(app.engine, slug, archived)
    said = "shown in the archive once sent" if archived else "kept out of the archive"
    record(app, actor=actor, action="edition.archive", subject=f"edition {slug}", detail=said)
    return digest


def _public(app: App, digest: Digest) -> PublicCopy:
    """The one way a stored edition becomes its public copy (pages and feeds alike): its tracked links
    lead straight to their stories and the open pixel goes, for a visit here is not a reader's click."""
    html = direct_html(app, digest.slug, digest.html)
    return public_copy(html, signup=signup_url(app.settings))


def _row(digest: Digest) -> ListedEdition:
    return ListedEdition(
        digest.slug, digest.newsletter, digest.subject, digest.queued_at or digest.created_at
    )


def _entry(settings: Settings, row: ListedEdition) -> Entry:
    newsletter = settings.newsletter(row.newsletter)
    return Entry(row.slug, row.subject, row.queued_at, newsletter, archive_url(settings, row.slug))
