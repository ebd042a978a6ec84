"""Post length as X counts it, and shortening that keeps links, hashtags and emoji whole.

Counting is delegated to ``twitter-text-parser``, a port of X's own twitter-text v3 library: weighted code
points (light ranges 1, everything else 2, an emoji sequence 2), NFC first, and every URL X recognises
(including bare domains with a known TLD, but not ``.example`` hosts) counted as 23. Reimplementing the
TLD list and emoji grammar here would drift from X; the port is checked against X's conformance cases.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import regex
from twitter_text import parse_tweet

X_LIMIT = 280
URL_RE = re.compile(r"https?://[^\s<>\"]+[^\s<>\"\.,;:!?\)\]\}'”’]", re.IGNORECASE)


def weighted_length(text: str) -> int:
    """The length X reports for ``text``; the post is accepted when it is at most :data:`X_LIMIT`."""
    return int(parse_tweet(unicodedata.normalize("NFC", text)).weightedLength)


def mastodon_length(text: str) -> int:
    """Mastodon's count: characters, with every URL counted as 23 whatever its length."""
    return len(URL_RE.sub("x" * 23, text))


def graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Bluesky counts its 300."""
    return len(regex.findall(r"\X", text))


def _protected(word: str) -> bool:
    return bool(URL_RE.fullmatch(word)) or word.startswith(("#", "@"))


def shorten(
    text: str,
    limit: int = X_LIMIT,
    *,
    ellipsis: str = "…",
    measure: Callable[[str], int] = weighted_length,
) -> str:
    """Cut ``text`` at word boundaries until it fits, keeping URLs, hashtags and mentions whole.

    Words are dropped from the end of the last cuttable run, and an ellipsis marks the cut. Emoji and
    surrogate pairs are never split because only whole words are removed.
    """
    text = unicodedata.normalize("NFC", text)
    if measure(text) <= limit:
        return text
    tokens = re.split(r"(\s+)", text)
    words = [i for i in range(0, len(tokens), 2) if tokens[i] and not _protected(tokens[i])]
    while words:
        index = words.pop()
        tokens[index] = ""
        previous = words[-1] if words else None
        candidate_tokens = list(tokens)
        if previous is not None:
            candidate_tokens[previous] = tokens[previous].rstrip(",;:—–-") + ellipsis
        candidate = re.sub(r"[ \t]+(?=\n)", "", re.sub(r"[ \t]{2,}", " ", "".join(candidate_tokens))).strip()
        if measure(candidate) <= limit:
            return candidate
    raise ValueError(f"text cannot be shortened to {limit}: its URLs and hashtags alone are too long")
