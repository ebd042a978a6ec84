"""X's rules: 280 weighted characters, the ``POST /2/tweets`` body, threads, image and alt-text limits.

Counting is delegated to ``twitter-text-parser``, a port of X's own twitter-text v3 library: weighted code
points (light ranges 1, everything else 2, an emoji sequence 2), NFC first, and every URL X recognises
(including bare domains with a known TLD, but not ``.example`` hosts) counted as 23. Reimplementing the
TLD list and emoji grammar here would drift from X. tests/platforms/test_twitter_conformance.py runs
twitter-text's own conformance cases (read from ``../shared/data/twitter-text/``) against this module: the
v3 groups match exactly; the v2-weighted and 140-character groups differ where it documents.
twitter-text is imported on first use: its regexes take 0.23 s to build, a tenth of every CLI command's
start, and most commands never count a post.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from distro.platforms.text import split_graphemes

LIMIT = 280
MAX_ALT_TEXT = 1000
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # X's limit for a tweet_image upload


def length(text: str) -> int:
    """The length X reports for ``text``; the post is accepted when it is at most :data:`LIMIT`."""
    from twitter_text import parse_tweet

    return int(parse_tweet(unicodedata.normalize("NFC", text)).weightedLength)


def is_valid(text: str) -> bool:
    """Whether X accepts ``text``: not empty, at most :data:`LIMIT`, and none of twitter-text's invalid
    characters (U+FFFE, U+FEFF, U+FFFF), which make X refuse a post whatever its length."""
    from twitter_text import parse_tweet

    return bool(parse_tweet(unicodedata.normalize("NFC", text)).valid)


def refusal(text: str) -> str:
    """Why X refuses ``text`` apart from its length ("" when nothing): the invalid characters it holds."""
    from twitter_text.has_invalid_characters import has_invalid_characters
    from twitter_text.regexp.invalid_chars import invalid_chars

    if not has_invalid_characters(text):
        return ""
    found = sorted({f"U+{ord(c):04X}" for c in invalid_chars.findall(text)})
    return f"it holds characters X refuses ({', '.join(found)}); remove them"


def without_invalid(text: str) -> str:
    """``text`` without twitter-text's invalid characters (all invisible), as the composer sends it."""
    from twitter_text.regexp.invalid_chars import invalid_chars

    return str(invalid_chars.sub("", text))


def build_body(text: str, *, reply_to: str | None = None) -> dict[str, Any]:
    """The JSON body tweepy's ``Client.create_tweet`` sends for this post (same keys, same order)."""
    body: dict[str, Any] = {}
    if reply_to is not None:
        body["reply"] = {"in_reply_to_tweet_id": str(reply_to)}
    body["text"] = text
    return body


def thread_parts(text: str) -> tuple[str, ...]:
    """``text`` split at word boundaries into tweets of at most :data:`LIMIT`; a longer word (CJK, a run of
    emoji) is split between its graphemes, so every part of the text is in the thread."""
    parts: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if length(candidate) <= LIMIT:
            current = candidate
            continue
        if current:
            parts.append(current)
        if length(word) <= LIMIT:
            current = word
            continue
        *whole, current = split_graphemes(word, LIMIT, measure=length)  # CJK or emoji: no spaces
        parts.extend(whole)
    if current:
        parts.append(current)
    return tuple(parts)
