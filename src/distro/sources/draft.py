"""Build an :class:`ArticleDraft` from loosely typed fields (JSON APIs, webhooks, page metadata).

Feeds have their own path (:mod:`distro.sources.feed`); every other source hands its raw fields here so
the guarantees of ``ArticleDraft`` (plain text, safe absolute URLs, UTC dates, bounded lengths) hold the
same way whatever the article came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from distro.sanitize import safe_url, to_plain_text, truncate
from distro.sources.base import (
    AUTHOR_MAX_CHARS,
    CATEGORY_MAX_CHARS,
    GUID_MAX_CHARS,
    IMAGE_ALT_MAX_CHARS,
    MARKUP_SCAN_CHARS,
    SUMMARY_MAX_CHARS,
    TITLE_MAX_CHARS,
    ArticleDraft,
    count_words,
)


def text(value: Any) -> str:
    """``value`` when it is a string; a WordPress ``{"rendered": ...}`` object's rendered text; else ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("rendered"), str):
        return str(value["rendered"])
    return ""


def parse_datetime(value: Any) -> datetime | None:
    """An ISO 8601 or RFC 2822 date as aware UTC; a date without a zone is taken as UTC; else None."""
    raw = text(value).strip()
    if not raw or len(raw) > 64:
        return None
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def build_draft(
    *,
    url: Any,
    base: str | None = None,
    guid: Any = None,
    title: Any = None,
    summary: Any = None,
    content: Any = None,
    author: Any = None,
    categories: Iterable[Any] = (),
    image_url: Any = None,
    published_at: Any = None,
    image_alt: Any = None,
) -> ArticleDraft | None:
    """A safe draft, or None when there is no safe http(s) link to send readers to."""
    link = safe_url(text(url), base)
    if link is None:
        return None
    body = to_plain_text(text(summary)[:MARKUP_SCAN_CHARS], SUMMARY_MAX_CHARS) or to_plain_text(
        text(content)[:MARKUP_SCAN_CHARS], SUMMARY_MAX_CHARS
    )
    names: list[str] = []
    for category in categories:
        name = to_plain_text(text(category), CATEGORY_MAX_CHARS)
        if name and name not in names:
            names.append(name)
    guid_text = " ".join(text(guid).split())
    when = published_at if isinstance(published_at, datetime) else parse_datetime(published_at)
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return ArticleDraft(
        guid=guid_text if guid_text and len(guid_text) <= GUID_MAX_CHARS else None,
        url=link,
        title=to_plain_text(text(title), TITLE_MAX_CHARS) or truncate(body, 120) or link,
        summary=body,
        author=to_plain_text(text(author), AUTHOR_MAX_CHARS) or None,
        section=names[0] if names else None,
        categories=tuple(names),
        image_url=safe_url(text(image_url), link),
        published_at=when,
        word_count=count_words(text(content)) if content else None,
        image_alt=to_plain_text(text(image_alt), IMAGE_ALT_MAX_CHARS) or None,
    )
