"""WordPress sites through the REST API (``/wp-json/wp/v2/posts?_embed``).

The API gives what a feed often leaves out: categories and tags by name, the author's display name and the
featured image, all in ``_embedded``. Pages are followed (``X-WP-TotalPages`` or ``Link: rel="next"``) up
to ``MAX_PAGES``; only the first page carries validators, so an unchanged site still costs one 304.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from distro.errors import SourceError
from distro.sources.base import ArticleDraft, FetchResult
from distro.sources.draft import build_draft, text
from distro.sources.fetch import FetchResponse, HttpSource, redact_url

log = logging.getLogger(__name__)

API_PATH = "/wp-json/wp/v2/posts"
PER_PAGE = 50
MAX_PAGES = 20
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?', re.IGNORECASE)


def api_url(site_or_api: str, page: int = 1) -> str:
    """The posts endpoint for a site URL (or an API URL as given), with ``_embed``, page size and page."""
    parts = urlsplit(site_or_api.strip())
    path = parts.path if "/wp-json/" in parts.path else parts.path.rstrip("/") + API_PATH
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.setdefault("_embed", "1")
    query.setdefault("per_page", str(PER_PAGE))
    if page > 1:
        query["page"] = str(page)
    return urlunsplit(parts._replace(path=path, query=urlencode(query)))


class WordPressSource(HttpSource):
    """Polls one WordPress site; ``settings.url`` is the site (``https://site``) or the posts endpoint."""

    def fetch(self) -> FetchResult:
        first = self._get(api_url(self.settings.url), accept="application/json", conditional=True)
        if first.not_modified:
            return FetchResult(not_modified=True, etag=first.etag, last_modified=first.last_modified)
        drafts = parse_posts(first.body, source=redact_url(first.url))
        response, page = first, 1
        while page < MAX_PAGES:
            following = _next_page(response, page)
            if following is None:
                break
            page += 1
            response = self._get(following, accept="application/json", conditional=False)
            drafts.extend(parse_posts(response.body, source=redact_url(response.url)))
        return FetchResult(
            drafts=_unique(drafts),
            etag=first.etag,
            last_modified=first.last_modified,
            permanent_url=None,  # the stored URL is the site; a redirect of the endpoint says nothing of it
        )


def _next_page(response: FetchResponse, page: int) -> str | None:
    match = _NEXT.search(response.headers.get("Link", ""))
    if match:
        return match.group(1)
    total = response.headers.get("X-WP-TotalPages", "")
    if total.isdigit() and page < int(total):
        return api_url(response.url, page + 1)
    return None


def _unique(drafts: list[ArticleDraft]) -> list[ArticleDraft]:
    seen: set[str] = set()
    kept = []
    for draft in drafts:
        key = draft.guid or draft.url
        if key not in seen:
            seen.add(key)
            kept.append(draft)
    return kept


def parse_posts(data: bytes, *, source: str) -> list[ArticleDraft]:
    """Drafts from one page of ``/wp/v2/posts`` JSON; raises SourceError when it is not that."""
    try:
        posts = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise SourceError(source, f"is not JSON ({exc}); check the URL points at a WordPress site") from None
    if not isinstance(posts, list):
        hint = posts.get("message") if isinstance(posts, dict) else None
        said = f" (it said: {str(hint)[:200]})" if hint else ""
        raise SourceError(source, f"did not return a list of posts{said}; is the REST API enabled?")
    drafts = []
    for post in posts:
        draft = post_to_draft(post) if isinstance(post, dict) else None
        if draft is None:
            log.warning("wordpress %s: skipped a post without a safe link", source)
        else:
            drafts.append(draft)
    return drafts


def post_to_draft(post: dict[str, Any]) -> ArticleDraft | None:
    """One post as a draft: GUID, link, title, excerpt (else content), date_gmt, terms, author, image."""
    raw = post.get("_embedded")
    embedded: dict[str, Any] = raw if isinstance(raw, dict) else {}
    categories, tags = _terms(embedded.get("wp:term"))
    return build_draft(
        url=post.get("link"),
        guid=text(post.get("guid")) or (f"wp-post:{post['id']}" if isinstance(post.get("id"), int) else None),
        title=post.get("title"),
        summary=post.get("excerpt"),
        content=post.get("content"),
        author=_first(embedded.get("author")).get("name"),
        categories=[*categories, *tags],
        image_url=_first(embedded.get("wp:featuredmedia")).get("source_url"),
        image_alt=_first(embedded.get("wp:featuredmedia")).get("alt_text"),
        published_at=post.get("date_gmt") or post.get("date"),
    )


def _first(value: Any) -> dict[str, Any]:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return {}


def _terms(groups: Any) -> tuple[list[str], list[str]]:
    """Category and tag names from ``wp:term`` (a list of lists of term objects)."""
    categories: list[str] = []
    tags: list[str] = []
    for group in groups if isinstance(groups, list) else []:
        for term in group if isinstance(group, list) else []:
            if not isinstance(term, dict):
                continue
            name = text(term.get("name"))
            if term.get("taxonomy") == "category":
                categories.append(name)
            elif term.get("taxonomy") == "post_tag":
                tags.append(name)
    return categories, tags
