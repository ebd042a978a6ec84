"""What every source hands to the ingest step.

A source (RSS/Atom feed, WordPress API, article page, webhook, WebSub push) only reads and normalises:
it returns :class:`ArticleDraft` values and stores nothing. The ingest service decides what is new,
writes :class:`distro.models.Article` rows and remembers the validators (ETag, Last-Modified) and any
permanent redirect for the next poll. Keeping sources free of the database lets each one be tested with
nothing but bytes, and lets a failed poll leave no half-written rows behind.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

# The bounds every ArticleDraft keeps, whichever source built it (the columns of distro.models.Article).
SUMMARY_MAX_CHARS = 1000
TITLE_MAX_CHARS = 500
AUTHOR_MAX_CHARS = 300  # Article.author column
CATEGORY_MAX_CHARS = 200  # Article.section column
GUID_MAX_CHARS = 1000  # Article.guid column
# Markup scanned for a summary or an image: a full text can be megabytes, the digest needs the start.
MARKUP_SCAN_CHARS = 100_000


IMAGE_ALT_MAX_CHARS = 500  # Article.image_alt column
_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.S | re.I)


def count_words(markup: str) -> int | None:
    """Words of an article's HTML (or text), all of it: tags, scripts and styles are not words. None when
    there are none."""
    words = len(html.unescape(_TAG.sub(" ", markup)).split())
    return words or None


@dataclass(frozen=True, slots=True)
class ArticleDraft:
    """One article as a source saw it, already cleaned so it is safe to store and show.

    Callers may rely on: ``url`` and ``image_url`` are absolute http(s) URLs (never ``javascript:`` or
    ``data:``); ``title`` and ``summary`` are plain text with whitespace collapsed (escape them when
    writing HTML); ``summary`` is at most about 1000 characters, cut at a word boundary; ``section`` is the
    first of ``categories``; ``published_at`` is timezone-aware UTC, or None when the source gave no
    usable date. ``guid`` is the source's stable identity for the article when it has one, which survives
    a changed URL or title. ``modified_at`` is when the source last changed the article (None when it
    does not say): an older version never overwrites a newer one already stored.
    """

    guid: str | None
    url: str
    title: str
    summary: str
    author: str | None
    section: str | None
    categories: tuple[str, ...]
    image_url: str | None
    published_at: datetime | None
    modified_at: datetime | None = None
    # The whole article's words (content:encoded, the page, WordPress content) for its reading time; None
    # when the source gives only a teaser. ``image_alt``: the source's description of the picture.
    word_count: int | None = None
    image_alt: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one poll.

    ``not_modified`` is True when the server answered 304 to a conditional request; ``drafts`` is then
    empty and the caller keeps what it has. ``etag`` and ``last_modified`` are the validators to send on
    the next poll (None when the server gave none). ``permanent_url`` is set when the source answered
    with a permanent redirect (301/308), so the caller can update the stored URL instead of following the
    redirect forever.
    """

    drafts: list[ArticleDraft] = field(default_factory=list)
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    permanent_url: str | None = None
    # WebSub: the hub a feed advertises (rel="hub") and the topic URL to subscribe to (rel="self").
    hub: str | None = None
    topic: str | None = None


@runtime_checkable
class Source(Protocol):
    """Anything that can be polled for articles.

    ``fetch`` raises :class:`distro.errors.SourceError` (or a subclass) when the source cannot be read or
    parsed; it never returns a partial result from a failed read.
    """

    def fetch(self) -> FetchResult:
        """Read the source once and return what it holds now."""
        ...
