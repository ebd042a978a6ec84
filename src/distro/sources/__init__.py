"""Where articles come from: each source turns something outside (a feed, a page, ...) into ArticleDrafts.

Sources read and normalise, and never touch the database; the ingest service stores what they return.
:func:`make_source` picks the implementation for a ``[[sources]]`` entry, so callers need not know the kinds.
"""

from __future__ import annotations

from distro.settings import SourceSettings
from distro.sources.base import ArticleDraft, FetchResult, Source
from distro.sources.feed import FeedSource, parse_feed
from distro.sources.fetch import SourceUnavailable
from distro.sources.page import PageSource
from distro.sources.wordpress import WordPressSource

__all__ = [
    "ArticleDraft",
    "FeedSource",
    "FetchResult",
    "Source",
    "SourceUnavailable",
    "make_source",
    "parse_feed",
]


def make_source(
    settings: SourceSettings,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    user_agent: str | None = None,
    accept_pages: bool = False,
) -> Source:
    """The source for one configured entry, primed with the validators stored after its last poll.

    ``user_agent`` is the publication-wide default, used when the entry sets none. ``accept_pages`` lets a
    feed URL that turns out to be an HTML page be read as one article (``distro ingest URL``); configured
    feeds leave it off, so a feed replaced by an HTML error page is an error, not an "article".
    """
    # ``kind`` is a Literal in the settings, so an unknown kind never gets this far.
    if settings.kind == "wordpress":
        return WordPressSource(settings, etag=etag, last_modified=last_modified, user_agent=user_agent)
    if settings.kind == "page":
        return PageSource(settings, etag=etag, last_modified=last_modified, user_agent=user_agent)
    return FeedSource(
        settings, etag=etag, last_modified=last_modified, user_agent=user_agent, accept_pages=accept_pages
    )
