"""A single article page (``distro ingest URL`` on an HTML page, or ``kind = "page"``).

Metadata comes from what publishers already put in pages for social cards and search engines, in this
order: JSON-LD ``NewsArticle`` (or ``Article``/``BlogPosting``), then OpenGraph and ``article:*`` meta
(both read by extruct), then trafilatura's metadata and readable text for whatever is still missing. The
article's identity is its canonical URL (``<link rel="canonical">``, else ``og:url``), so the same article
arriving from a feed or a webhook is stored once.
"""

from __future__ import annotations

import logging
from typing import Any

from distro.errors import SourceError
from distro.sources.base import ArticleDraft, FetchResult
from distro.sources.draft import build_draft
from distro.sources.fetch import HttpSource, redact_url

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_ARTICLE_TYPES = {"newsarticle", "article", "blogposting", "reportagenewsarticle", "analysisnewsarticle"}
_HTML_SCAN_BYTES = 5 * 1024 * 1024  # metadata lives in the head; a huge page is cut before parsing


class PageSource(HttpSource):
    """Reads one article page; ``settings.url`` is the page."""

    def fetch(self) -> FetchResult:
        response = self._get(self.settings.url.strip(), accept=PAGE_ACCEPT)
        if response.not_modified:
            return FetchResult(not_modified=True, etag=response.etag, last_modified=response.last_modified)
        draft = parse_page(response.body, url=response.url, content_type=response.content_type)
        return FetchResult(drafts=[draft], etag=response.etag, last_modified=response.last_modified)


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    """True for an HTML page (so ``distro ingest URL`` reads it as a page rather than a feed)."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        return True
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def decode_html(body: bytes, content_type: str | None) -> str:
    """The page as text: HTTP charset, else BOM or ``<meta charset>``, else UTF-8 (bad bytes replaced)."""
    from w3lib.encoding import html_to_unicode

    _encoding, text = html_to_unicode(content_type, body[:_HTML_SCAN_BYTES])
    return str(text)


def parse_page(body: bytes, *, url: str, content_type: str | None = None) -> ArticleDraft:
    """The article a page describes; raises SourceError when it has no usable link or title."""
    import trafilatura

    source = redact_url(url)
    html = decode_html(body, content_type)
    data = _structured_data(html, url, source)
    ld = _news_article(data.get("json-ld") or [])
    og = _first_dict(data.get("opengraph") or [])
    meta = trafilatura.extract_metadata(html, default_url=url)
    found = meta.as_dict() if meta is not None else {}
    canonical = _link_canonical(html) or _s(og.get("og:url")) or _ld_url(ld) or found.get("url") or url
    summary = _s(ld.get("description")) or _s(og.get("og:description")) or _s(found.get("description"))
    article = trafilatura.extract(html, include_comments=False, include_tables=False) or ""
    summary = summary or article
    draft = build_draft(
        url=canonical,
        base=url,
        guid=None,
        title=_s(ld.get("headline")) or _s(og.get("og:title")) or _s(found.get("title")),
        summary=summary,
        content=article,  # its words give the reading time
        author=_ld_name(ld.get("author")) or _s(og.get("article:author")) or _s(found.get("author")),
        categories=[
            c for c in (_s(ld.get("articleSection")), _s(og.get("article:section")), *_list(found)) if c
        ],
        image_url=_ld_image(ld.get("image")) or _s(og.get("og:image")) or _s(found.get("image")),
        image_alt=_s(og.get("og:image:alt")),
        published_at=_s(ld.get("datePublished"))
        or _s(og.get("article:published_time"))
        or _s(found.get("date")),
    )
    if draft is None:
        raise SourceError(source, "has no usable http(s) canonical URL")
    if draft.title == draft.url:
        raise SourceError(
            source, "has no title (no JSON-LD headline, og:title or <title>); is it an article?"
        )
    return draft


def _structured_data(html: str, url: str, source: str) -> dict[str, Any]:
    """The page's OpenGraph and JSON-LD blocks; none when they cannot be read (the rest of the page can)."""
    import extruct

    try:
        data: dict[str, Any] = extruct.extract(
            html, base_url=url, syntaxes=["opengraph", "json-ld"], uniform=True
        )
    except Exception as exc:  # extruct raises whatever lxml or json raise; one bad block must not win
        log.info("page %s: structured data unreadable (%s)", source, exc)
        return {}
    return data


def _link_canonical(html: str) -> str:
    """``<link rel="canonical" href>``; publishers set it for search engines, so it is the truest URL."""
    import lxml.etree
    import lxml.html

    try:
        document = lxml.html.document_fromstring(html[:_HTML_SCAN_BYTES])
    except (lxml.etree.ParserError, ValueError):
        return ""
    for link in document.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split():
            return link.get("href") or ""
    return ""


def _s(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def _list(found: dict[str, Any]) -> list[str]:
    return [c for c in (found.get("categories") or []) if isinstance(c, str)]


def _first_dict(items: list[Any]) -> dict[str, Any]:
    return next((item for item in items if isinstance(item, dict)), {})


def _news_article(items: list[Any]) -> dict[str, Any]:
    """The first JSON-LD object typed as an article, looking inside ``@graph`` too."""
    queue = list(items)
    while queue:
        item = queue.pop(0)
        if not isinstance(item, dict):
            continue
        types = item.get("@type")
        names = {t.lower() for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)}
        if names & _ARTICLE_TYPES:
            return item
        graph = item.get("@graph")
        if isinstance(graph, list):
            queue.extend(graph)
    return {}


def _ld_name(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(filter(None, (_ld_name(v) for v in value[:5])))
    if isinstance(value, dict):
        return _s(value.get("name"))
    return _s(value)


def _ld_image(value: Any) -> str:
    if isinstance(value, list):
        return _ld_image(value[0]) if value else ""
    if isinstance(value, dict):
        return _s(value.get("url")) or _s(value.get("contentUrl"))
    return _s(value)


def _ld_url(ld: dict[str, Any]) -> str:
    entity = ld.get("mainEntityOfPage")
    if isinstance(entity, dict):
        entity = entity.get("@id") or entity.get("url")
    return _s(ld.get("url")) or _s(entity)
