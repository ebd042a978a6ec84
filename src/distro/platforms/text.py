"""What the platforms' text rules share: the URL pattern, and shortening that keeps links and tags whole."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

# A URL as the platforms link it: up to white space, without trailing punctuation or closing quotes.
URL_RE = re.compile(r"https?://[^\s<>\"]+[^\s<>\"\.,;:!?\)\]\}'”’]", re.IGNORECASE)


def _protected(word: str) -> bool:
    return bool(URL_RE.fullmatch(word)) or word.startswith(("#", "@"))


def shorten(text: str, limit: int, *, measure: Callable[[str], int], ellipsis: str = "…") -> str:
    """Cut ``text`` at word boundaries until ``measure`` says it fits, keeping URLs, hashtags and mentions.

    Words are dropped from the end of the last cuttable run, and an ellipsis marks the cut. Emoji and
    surrogate pairs are never split because only whole words are removed. ValueError when the URLs and
    hashtags alone are over ``limit``.
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
