"""LinkedIn's rules: an organisation's post in the versioned Posts API, its "little" text, 3,000 characters.

The ``commentary`` of ``POST /rest/posts`` is in LinkedIn's *little text format*, where ``\\ | { } @ [ ] ( )
< > # * _ ~`` are reserved (mentions ``@[Name](urn:li:...)``, hashtag templates ``{hashtag|\\#|tag}``):
unescaped, LinkedIn may cut the published text at the first one while answering 201. :func:`escape`
backslash-escapes every reserved character except in what must keep its meaning: URLs (LinkedIn links
them as they are) and ``#word`` hashtags (a hashtag element, shown clickable). :func:`length` measures the
escaped text, the string LinkedIn receives, against :data:`LIMIT`; the editor sees :func:`unescape`\\ d text.

The article link travels beside the commentary as an article card (``content.article``: ``source``,
``title``, ``description``), so LinkedIn shows a preview without the URL in the text.
"""

from __future__ import annotations

import re
from typing import Any

from distro.platforms.text import URL_RE

LIMIT = 3000  # the Posts API's commentary limit
RESERVED = frozenset("\\|{}@[]()<>#*_~")
AUTHOR_PREFIX = "urn:li:organization:"
# What is never escaped: a URL, or a hashtag at the start of a word.
_KEPT = re.compile(rf"{URL_RE.pattern}|(?<!\S)#\w+", re.IGNORECASE)
_ESCAPED = re.compile(r"\\([\\|{}@\[\]()<>#*_~])")


def author_urn(organization_id: str) -> str:
    return f"{AUTHOR_PREFIX}{organization_id}"


def _escape_plain(text: str) -> str:
    return "".join("\\" + char if char in RESERVED else char for char in text)


def escape(text: str) -> str:
    """``text`` as little text: reserved characters backslash-escaped, URLs and ``#hashtags`` kept."""
    out: list[str] = []
    last = 0
    for match in _KEPT.finditer(text):
        out += [_escape_plain(text[last : match.start()]), match[0]]
        last = match.end()
    out.append(_escape_plain(text[last:]))
    return "".join(out)


def unescape(text: str) -> str:
    """The text a reader sees: every ``\\x`` of a reserved ``x`` back to ``x``."""
    return _ESCAPED.sub(r"\1", text)


def length(text: str) -> int:
    """The length of the commentary LinkedIn receives for ``text`` (escaped), in characters."""
    return len(escape(text))


def build_body(
    text: str, *, organization_id: str, link: str | None, title: str = "", description: str = ""
) -> dict[str, Any]:
    """The ``POST /rest/posts`` body of a public organisation post, with an article card for ``link``."""
    body: dict[str, Any] = {
        "author": author_urn(organization_id),
        "commentary": escape(text),
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
    }
    if link:
        article: dict[str, Any] = {"source": link}
        if title:
            article["title"] = title
        if description:
            article["description"] = description
        body["content"] = {"article": article}
    body |= {"lifecycleState": "PUBLISHED", "isReshareDisabledByAuthor": False}
    return body


def with_text(body: dict[str, Any], text: str) -> dict[str, Any]:
    """``body`` with a new commentary (an editor's text); the author and the article card stay."""
    return {**body, "commentary": escape(text)}


def text_of(body: dict[str, Any]) -> str | None:
    """The text a post's body shows its readers (its commentary, unescaped), or None."""
    commentary = body.get("commentary")
    return unescape(commentary) if isinstance(commentary, str) else None


def link_of(body: dict[str, Any]) -> str | None:
    """The article card's URL of a post's body, or None."""
    content = body.get("content")
    article = content.get("article") if isinstance(content, dict) else None
    source = article.get("source") if isinstance(article, dict) else None
    return source if isinstance(source, str) else None
