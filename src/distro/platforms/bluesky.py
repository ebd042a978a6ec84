"""Bluesky's rules: 300 graphemes and 3,000 UTF-8 bytes, the ``app.bsky.feed.post`` record, its facets.

The lexicon gives the post's text both ``maxGraphemes: 300`` and ``maxLength: 3000`` (bytes); a text of
few graphemes can still be over the bytes (a family emoji is one grapheme of 18 bytes), so both are checked.

Bluesky shows links and hashtags only where the record has *facets*: byte ranges into the UTF-8 text (not
character indexes), so :func:`facets` computes them on the encoded text.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import regex

from distro.platforms.text import URL_RE

LIMIT = 300
MAX_BYTES = 3000
RECORD_TYPE = "app.bsky.feed.post"
_TAG_RE = re.compile(r"(?<!\S)#(\w+)")


def length(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Bluesky counts its 300; a text over
    :data:`MAX_BYTES` UTF-8 bytes counts as over :data:`LIMIT` whatever its graphemes, so one measure
    answers both of the lexicon's limits (and shortening keeps cutting until both hold)."""
    graphemes = len(regex.findall(r"\X", text))
    return graphemes if len(text.encode("utf-8", "surrogatepass")) <= MAX_BYTES else max(graphemes, LIMIT + 1)


def facets(text: str) -> list[dict[str, Any]]:
    """Link and tag facets for ``text`` with UTF-8 byte offsets, in text order."""
    found: list[tuple[int, int, dict[str, Any]]] = []
    for match in URL_RE.finditer(text):
        found.append((match.start(), match.end(), {"$type": "app.bsky.richtext.facet#link", "uri": match[0]}))
    for match in _TAG_RE.finditer(text):
        found.append((match.start(), match.end(), {"$type": "app.bsky.richtext.facet#tag", "tag": match[1]}))
    return [
        {
            "index": {
                "byteStart": len(text[:start].encode("utf-8")),
                "byteEnd": len(text[:end].encode("utf-8")),
            },
            "features": [feature],
        }
        for start, end, feature in sorted(found, key=lambda f: f[0])
    ]


def build_body(text: str, *, created_at: datetime, language: str | None = None) -> dict[str, Any]:
    """The ``app.bsky.feed.post`` record; the channel wraps it in createRecord with the account's DID."""
    record: dict[str, Any] = {
        "$type": RECORD_TYPE,
        "text": text,
        "createdAt": created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if found := facets(text):
        record["facets"] = found
    if language:
        record["langs"] = [language]
    return record
