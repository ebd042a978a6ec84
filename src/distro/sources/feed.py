"""RSS 0.9x/1.0/2.0 and Atom feeds, read over HTTP(S) or from a local file.

The bytes are fetched by :mod:`distro.sources.fetch` (timeouts, size limit, conditional GET) and only then
handed to feedparser, always wrapped in a stream: given bare bytes or a string, feedparser would treat
something that looks like a URL or a file name as one and go and read it. feedparser also copes with
entity tricks: it drops ``SYSTEM`` entities and entities that expand other entities before expat sees the
document, so neither a "billion laughs" nor ``<!ENTITY x SYSTEM "file:///etc/passwd">`` can do harm.

Everything taken from an entry is normalised into an :class:`ArticleDraft` (see its docstring for what
callers may rely on). Entries that cannot become a safe draft are skipped and logged, not fatal: one bad
item should not hide the other eleven. A feed that yields nothing usable is an error, with the line
number when the XML itself is broken.
"""

from __future__ import annotations

import io
import logging
import xml.sax
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import feedparser
import requests

from distro.errors import SourceError
from distro.sanitize import safe_url
from distro.settings import SourceSettings
from distro.sources.base import ArticleDraft, FetchResult
from distro.sources.feed_entry import entry_to_draft
from distro.sources.feed_html import EntryMarkup, as_text, mappings, parser_options
from distro.sources.feed_media import media_descriptions
from distro.sources.fetch import HttpSource, read_path, redact_url
from distro.sources.page import looks_like_html, parse_page

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
# feedparser notes that are not damage: the document was still parsed by the strict XML parser.
_ADVISORY = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


class FeedSource(HttpSource):
    """Polls one feed described by :class:`~distro.settings.SourceSettings`.

    ``settings.url`` is an ``http(s)://`` URL, a ``file://`` URL or a local path. ``etag`` and
    ``last_modified`` are the validators stored after the previous poll; pass them back so an unchanged
    feed answers 304. ``user_agent`` is the publication-wide default (``Settings.user_agent``), used when
    the source sets none of its own. ``session`` is an optional ``requests`` session to reuse.
    """

    def __init__(
        self,
        settings: SourceSettings,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        user_agent: str | None = None,
        session: requests.Session | None = None,
        accept_pages: bool = False,
    ) -> None:
        super().__init__(
            settings, etag=etag, last_modified=last_modified, user_agent=user_agent, session=session
        )
        self.accept_pages = accept_pages

    def fetch(self) -> FetchResult:
        """Read the feed once; raises SourceError (or SourceUnavailable) when it cannot be read or parsed."""
        location = self.settings.url.strip()
        if _scheme(location) in ("http", "https"):
            return self._fetch_http(location)
        path = local_path(location)
        data = read_path(path, self.settings.max_bytes)
        return FetchResult(drafts=parse_feed(data, source=str(path)))

    def _fetch_http(self, url: str) -> FetchResult:
        response = self._get(url, accept=FEED_ACCEPT)
        drafts: list[ArticleDraft] = []
        links = FeedLinks()
        is_page = looks_like_html(response.body, response.content_type)
        if not response.not_modified and self.accept_pages and is_page:
            drafts = [parse_page(response.body, url=response.url, content_type=response.content_type)]
        elif not response.not_modified:
            drafts, links = parse_feed_document(
                response.body,
                source=redact_url(url),
                base_url=response.url,
                content_type=response.content_type,
            )
        return FetchResult(
            hub=links.hub,
            topic=(links.self_url or response.url) if links.hub else None,
            drafts=drafts,
            not_modified=response.not_modified,
            etag=response.etag,
            last_modified=response.last_modified,
            permanent_url=response.permanent_url,
        )


def local_path(location: str) -> Path:
    """The file named by a ``file://`` URL or a plain path; other URL schemes are refused."""
    scheme = _scheme(location)
    if scheme == "file":
        parts = urlsplit(location)
        if parts.netloc not in ("", "localhost"):
            raise SourceError(location, "file:// URLs must name a local file (no host)")
        return Path(url2pathname(parts.path))
    if scheme and len(scheme) > 1:  # one letter is a Windows drive, not a scheme
        raise SourceError(location, f"unsupported scheme {scheme!r}; use http(s)://, file:// or a path")
    return Path(location)


def _scheme(location: str) -> str:
    try:
        return urlsplit(location).scheme.lower()
    except ValueError as exc:  # e.g. a broken IPv6 literal
        raise SourceError(location, f"is not a valid URL ({exc})") from None


@dataclass(frozen=True, slots=True)
class FeedLinks:
    """The feed's own ``rel="hub"`` (WebSub hub) and ``rel="self"`` (its canonical URL, the WebSub topic)."""

    hub: str | None = None
    self_url: str | None = None


def parse_feed(
    data: bytes, *, source: str, base_url: str | None = None, content_type: str | None = None
) -> list[ArticleDraft]:
    """Parse feed bytes into drafts; see :func:`parse_feed_document`."""
    return parse_feed_document(data, source=source, base_url=base_url, content_type=content_type)[0]


def _feed_links(feed: Mapping[str, Any], base: str | None) -> FeedLinks:
    found: dict[str, str | None] = {"hub": None, "self": None}
    for link in mappings(feed.get("links")):
        rel = as_text(link.get("rel")).lower()
        if rel in found and found[rel] is None:
            found[rel] = safe_url(as_text(link.get("href")), base)
    return FeedLinks(hub=found["hub"], self_url=found["self"])


def parse_feed_document(
    data: bytes,
    *,
    source: str,
    base_url: str | None = None,
    content_type: str | None = None,
    sanitize_in_parser: bool = False,
) -> tuple[list[ArticleDraft], FeedLinks]:
    """Parse feed bytes into drafts, in feed order, each guid and each URL at most once (first kept).

    ``source`` names the feed in errors. ``base_url`` is where the bytes came from; relative links are
    resolved against ``xml:base``, then the feed's own link, then ``base_url``. ``content_type`` (the HTTP
    header) helps feedparser pick the character encoding. Raises SourceError when nothing usable is found.

    HTML fields are sanitised by feedparser only where that could change the draft
    (:mod:`distro.sources.feed_html`). ``sanitize_in_parser`` has feedparser sanitise every one as it
    parses, the slower way every feed was read before: the reference the tests hold the fast way to.
    """
    headers = {"content-type": content_type} if content_type else {}
    options = {} if sanitize_in_parser else parser_options(data, content_type)
    try:
        parsed = feedparser.parse(io.BytesIO(data), response_headers=headers, **options)
    except Exception as exc:  # feedparser is lenient, but must never take a poll down with it
        raise SourceError(source, f"the feed parser failed ({type(exc).__name__}: {exc})") from exc
    feed = parsed.get("feed") or {}
    site = safe_url(as_text(feed.get("link")), base_url) or safe_url(base_url)
    entries = parsed.get("entries") or []
    resolved = options.get("resolve_relative_uris", True)
    drafts = list(_unique(_drafts(entries, site, source, resolved=resolved, sanitized=sanitize_in_parser)))
    described = media_descriptions(data, site)
    drafts = [replace(d, image_alt=described[d.url]) if d.url in described else d for d in drafts]
    links = _feed_links(feed, base_url)
    if drafts:
        if parsed.get("bozo"):
            log.info("feed %s is not well-formed but was read: %s", source, _describe(parsed))
        return drafts, links
    problem = _why_empty(parsed)
    if problem:
        raise SourceError(source, problem)
    return [], links


def _why_empty(parsed: Mapping[str, Any]) -> str | None:
    """Why a feed with no usable entries is an error, or None when it is simply an empty feed."""
    exc = parsed.get("bozo_exception")
    if parsed.get("bozo") and not isinstance(exc, _ADVISORY):
        return _describe(parsed)
    if parsed.get("entries"):
        count = len(parsed["entries"])
        return f"none of its {count} entries has a usable http(s) link"
    if not parsed.get("version"):
        return "is not an RSS or Atom feed (no channel or feed element); check the URL points at the feed"
    return None


def _describe(parsed: Mapping[str, Any]) -> str:
    exc = parsed.get("bozo_exception")
    if isinstance(exc, xml.sax.SAXParseException):
        return f"is not well-formed XML: line {exc.getLineNumber()}, column {exc.getColumnNumber()}: " + str(
            exc.getMessage()
        )
    return f"could not be parsed ({exc or 'unknown error'})"


def _unique(drafts: Iterable[ArticleDraft]) -> Iterator[ArticleDraft]:
    """Drop repeats of a guid or a URL: the first occurrence wins, as the newest usually comes first."""
    seen_guids: set[str] = set()
    seen_urls: set[str] = set()
    for draft in drafts:
        if (draft.guid is not None and draft.guid in seen_guids) or draft.url in seen_urls:
            log.debug("skipping repeated entry %s", draft.guid or draft.url)
            continue
        if draft.guid is not None:
            seen_guids.add(draft.guid)
        seen_urls.add(draft.url)
        yield draft


def _drafts(
    entries: Iterable[Mapping[str, Any]], site: str | None, source: str, *, resolved: bool, sanitized: bool
) -> Iterator[ArticleDraft]:
    """Each entry as a draft; one that cannot be read (no safe link, or markup that defeats the sanitiser
    read after the parse) is logged and skipped, never the end of the poll."""
    for entry in entries:
        try:
            draft = entry_to_draft(entry, site, EntryMarkup(entry, resolved=resolved, sanitized=sanitized))
        except Exception as exc:  # feedparser's sanitiser is lenient, but one entry must not fail the feed
            link, guid = _names(entry)
            log.warning("feed %s: skipped an unreadable entry (%r, id %r): %r", source, link, guid, exc)
            continue
        if draft is None:
            link, guid = _names(entry)
            log.warning("feed %s: skipped an entry with no safe http(s) link (%r, id %r)", source, link, guid)
        else:
            yield draft


def _names(entry: Mapping[str, Any]) -> tuple[str, str]:
    """An entry's link and id as far as they can be shown in a log line."""
    try:
        return as_text(entry.get("link"))[:200], as_text(entry.get("id"))[:200]
    except Exception:  # the entry that just failed may fail again
        return "", ""
