"""One feedparser entry -> one :class:`ArticleDraft` (or None when it has no safe link).

Its HTML fields come through :class:`~distro.sources.feed_html.EntryMarkup`, which hands them over as
feedparser's sanitising parse would have; everything else is read straight from the entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from distro.sanitize import safe_url, to_plain_text, truncate
from distro.sources.base import (
    AUTHOR_MAX_CHARS,
    CATEGORY_MAX_CHARS,
    GUID_MAX_CHARS,
    MARKUP_SCAN_CHARS,
    SUMMARY_MAX_CHARS,
    TITLE_MAX_CHARS,
    ArticleDraft,
    count_words,
)
from distro.sources.feed_html import EntryMarkup, as_text, first_img_src, get_field, mappings

_EMAIL_AND_NAME = re.compile(r"^\s*[^\s@()]+@[^\s()]+\s*\((.+)\)\s*$", re.DOTALL)


def entry_to_draft(
    entry: Mapping[str, Any], base: str | None, markup: EntryMarkup | None = None
) -> ArticleDraft | None:
    """One feedparser entry as a draft, or None when it has no safe link to point readers to.

    ``markup`` reads its HTML fields; by default they are taken as they are (already sanitised).
    """
    markup = markup or EntryMarkup(entry, resolved=True, sanitized=True)
    guid = _guid(get_field(entry, "id"))
    url = _link(entry, guid, base)
    if url is None:
        return None
    summary = _summary(markup)
    title = to_plain_text(markup.title(), TITLE_MAX_CHARS) or truncate(summary, 120) or url
    categories = _categories(get_field(entry, "tags"))
    return ArticleDraft(
        guid=guid,
        url=url,
        title=title,
        summary=summary,
        author=_author(entry),
        section=categories[0] if categories else None,
        categories=categories,
        image_url=_image(entry, markup, url),
        published_at=_published(entry),
        word_count=_word_count(markup),
    )


def _link(entry: Mapping[str, Any], guid: str | None, base: str | None) -> str | None:
    """The entry's link made absolute; an unsafe link disqualifies the entry even when a guid exists.

    Without a link, a guid that is itself an http(s) URL (RSS ``isPermaLink``) serves as the link.
    """
    raw = as_text(get_field(entry, "link")).strip()
    if raw:
        return safe_url(raw, base)
    return safe_url(guid) if guid else None


def _guid(value: Any) -> str | None:
    text = " ".join(as_text(value).split())
    if not text or len(text) > GUID_MAX_CHARS:
        return None
    return text


def _summary(markup: EntryMarkup) -> str:
    summary = to_plain_text(markup.summary().markup[:MARKUP_SCAN_CHARS], SUMMARY_MAX_CHARS)
    if summary:
        return summary
    for content in markup.contents():
        text = to_plain_text(content.markup[:MARKUP_SCAN_CHARS], SUMMARY_MAX_CHARS)
        if text:
            return text
    return ""


def _word_count(markup: EntryMarkup) -> int | None:
    """Words of the full text (content:encoded, Atom content); None for a feed of teasers only."""
    counts = [count_words(content.markup) or 0 for content in markup.contents()]
    return max(counts, default=0) or None


def _author(entry: Mapping[str, Any]) -> str | None:
    """The author's name; RSS ``<author>`` is "email (Name)", and only the name is kept.

    The name is taken from the raw string first: feedparser's own split misreads some domains (it
    turns "desk@site.example (Ada)" into the name "ple (Ada").
    """
    raw = as_text(get_field(entry, "author"))
    match = _EMAIL_AND_NAME.match(raw)
    detail = get_field(entry, "author_detail")
    name = match.group(1) if match else detail.get("name") if isinstance(detail, Mapping) else None
    text = to_plain_text(as_text(name) or raw, AUTHOR_MAX_CHARS)
    return text or None


def _categories(tags: Any) -> tuple[str, ...]:
    """Category names in feed order without repeats; an Atom ``label`` is preferred to its ``term``."""
    names: list[str] = []
    for tag in mappings(tags):
        name = to_plain_text(as_text(get_field(tag, "label") or get_field(tag, "term")), CATEGORY_MAX_CHARS)
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _image(entry: Mapping[str, Any], markup: EntryMarkup, base: str) -> str | None:
    """The first safe image URL among media:content, media:thumbnail, image enclosures and ``<img>``."""
    for candidate in _image_candidates(entry, markup):
        url = safe_url(candidate, base)
        if url:
            return url
    return None


def _image_candidates(entry: Mapping[str, Any], markup: EntryMarkup) -> Iterator[str]:
    for media in mappings(get_field(entry, "media_content")):
        medium = as_text(media.get("medium")).lower()
        kind = as_text(media.get("type")).lower()
        if medium == "image" or kind.startswith("image/") or (not medium and not kind):
            yield as_text(media.get("url"))
    for thumb in mappings(get_field(entry, "media_thumbnail")):
        yield as_text(thumb.get("url"))
    for link in mappings(get_field(entry, "links")):
        if as_text(link.get("rel")) == "enclosure" and as_text(link.get("type")).lower().startswith("image/"):
            yield as_text(link.get("href"))
    # A generator: the content and summary are worked out (perhaps sanitised) only when no earlier
    # candidate was a safe URL.
    for content in markup.contents():
        src = first_img_src(content)
        if src:
            yield src
    src = first_img_src(markup.summary())
    if src:
        yield src


def _published(entry: Mapping[str, Any]) -> datetime | None:
    """Publication (else update) time; feedparser's parsed times are already UTC."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: FeedParserDict.get("updated_parsed") falls back to published with a DeprecationWarning.
        value = dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)
        if not value:
            continue
        try:
            year, month, day, hour, minute, second = tuple(value)[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except (TypeError, ValueError, OverflowError):
            continue
    return None
