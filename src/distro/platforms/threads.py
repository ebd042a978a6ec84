"""Threads' rules: 500 characters counted as Meta documents them, at most 5 links, the text container.

Meta's "Threads Posts" page (developers.facebook.com/docs/threads/posts, Limitations): "Text posts are
limited to 500 characters. Emojis are counted as the number of UTF-8 bytes", with a link to the
grapheme-splitter package. So :func:`length` counts user-perceived characters (extended grapheme clusters),
and a cluster that is an emoji counts its UTF-8 bytes (😀 is 4, a family of four joined by ZWJ 25, a flag
8). URLs count in full: Threads does not shorten them. Where the page leaves room (a keycap, a text-style
symbol), this reading counts the longer way, so a post distro accepts is never over Meta's limit.

The Text Attachments page adds: at most 5 links, counted as the unique URLs of the text plus the
``link_attachment`` when it differs from all of them (``THREADS_API__LINK_LIMIT_EXCEEDED`` otherwise).

The body is the ``POST /{threads-user-id}/threads`` parameters of a text container (``media_type=TEXT``,
``text``, and ``link_attachment`` for the preview card); the channel publishes the container afterwards.
"""

from __future__ import annotations

from typing import Any

import regex

from distro.platforms.text import URL_RE

LIMIT = 500
MAX_LINKS = 5
MEDIA_TYPE = "TEXT"
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20E3\uFE0F]")
_CLUSTER = regex.compile(r"\X")


def length(text: str) -> int:
    """Threads' count: one per grapheme cluster, an emoji cluster as its UTF-8 bytes."""
    return sum(
        len(cluster.encode("utf-8")) if _EMOJI.search(cluster) else 1 for cluster in _CLUSTER.findall(text)
    )


def links(text: str, attachment: str | None = None) -> int:
    """How many links Threads counts: the text's unique URLs, plus an attachment that is none of them."""
    found = {match[0] for match in URL_RE.finditer(text)}
    if attachment:
        found.add(attachment)
    return len(found)


def build_body(text: str, link: str | None = None) -> dict[str, Any]:
    """The text container's parameters; ``link`` becomes ``link_attachment`` (the preview card)."""
    body: dict[str, Any] = {"media_type": MEDIA_TYPE, "text": text}
    if link:
        body["link_attachment"] = link
    return body


def problem(body: dict[str, Any]) -> str | None:
    """Why Threads would refuse ``body`` (its length or its links), or None when it is fine to send."""
    text, link = body.get("text"), body.get("link_attachment")
    if not isinstance(text, str) or not text.strip():
        return "the text is empty"
    if length(text) > LIMIT:
        return f"the text is {length(text)} long as Threads counts it; the limit is {LIMIT}"
    if links(text, link if isinstance(link, str) else None) > MAX_LINKS:
        return f"the post has more than {MAX_LINKS} links (Threads refuses them)"
    return None
