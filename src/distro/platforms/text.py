"""What the platforms' text rules share: the URL pattern, and shortening that keeps links and tags whole."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import regex

# A URL as the platforms link it: up to white space, without trailing punctuation or closing quotes. An
# ellipsis ends it too: text cut at ingest ("https://a.example/x…") must not give a facet URI with "…".
URL_RE = re.compile(r"https?://[^\s<>\"…]+[^\s<>\"…\.,;:!?\)\]\}'”’]", re.IGNORECASE)
_GRAPHEME = regex.compile(r"\X")
# Where CJK text may be cut when it has no spaces: after its own punctuation (full stop, comma, ...).
_CJK_BREAK = frozenset("。、，．！？；：」』）】〉》…")
_TRAILING = ",;:—–-、，；："  # dropped before an ellipsis: "word,…" reads as a mistake


def _protected(word: str) -> bool:
    """A word that holds a URL (even inside brackets or before a full stop) or is a hashtag or mention:
    never cut and never given the ellipsis, so no ``…`` ever attaches to a link (a Bluesky facet or X's
    parser would take it into the URI)."""
    return bool(URL_RE.search(word)) or word.startswith(("#", "@"))


def _joined(tokens: list[str]) -> str:
    return re.sub(r"[ \t]+(?=\n)", "", re.sub(r"[ \t]{2,}", " ", "".join(tokens))).strip()


def shorten(text: str, limit: int, *, measure: Callable[[str], int], ellipsis: str = "…") -> str:
    """Cut ``text`` at word boundaries until ``measure`` says it fits, keeping URLs, hashtags and mentions.

    Words are dropped from the end of the last cuttable run, and an ellipsis marks the cut. The last word
    left (a CJK sentence or a run of emoji has no spaces) is cut between its graphemes instead, after CJK
    punctuation where there is some, so the text never shrinks to its links and tags alone. ValueError
    when the URLs and hashtags alone are over ``limit``.
    """
    text = unicodedata.normalize("NFC", text)
    if measure(text) <= limit:
        return text
    tokens = re.split(r"(\s+)", text)
    words = [i for i in range(0, len(tokens), 2) if tokens[i] and not _protected(tokens[i])]
    while words:
        index = words.pop()
        if not words and (inside := _cut_inside(tokens, index, limit, measure, ellipsis)) is not None:
            return inside
        tokens[index] = ""
        previous = words[-1] if words else None
        candidate_tokens = list(tokens)
        if previous is not None:
            candidate_tokens[previous] = tokens[previous].rstrip(_TRAILING) + ellipsis
        candidate = _joined(candidate_tokens)
        if measure(candidate) <= limit:
            return candidate
    raise ValueError(f"text cannot be shortened to {limit}: its URLs and hashtags alone are too long")


def _cut_inside(
    tokens: list[str], index: int, limit: int, measure: Callable[[str], int], ellipsis: str
) -> str | None:
    """The text with word ``index`` cut to its longest grapheme prefix that fits, or None when not even
    one grapheme does (then the word is dropped). Measures are monotonic in the prefix: binary search."""
    clusters = _GRAPHEME.findall(tokens[index])

    def candidate(count: int) -> str:
        head = "".join(clusters[:count]).rstrip(_TRAILING)
        return _joined([*tokens[:index], head + ellipsis, *tokens[index + 1 :]])

    low, high = 0, len(clusters) - 1  # count `low` fits (0 is the sentinel), `high + 1` does not
    while low < high:
        middle = (low + high + 1) // 2
        if measure(candidate(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    if low == 0:
        return None
    breaks = [i + 1 for i in range(low) if clusters[i] in _CJK_BREAK and i + 1 >= low // 2]
    return candidate(breaks[-1] if breaks else low)


def split_graphemes(word: str, limit: int, *, measure: Callable[[str], int]) -> list[str]:
    """``word`` (no spaces: CJK, emoji) in consecutive pieces of whole graphemes that each fit ``limit``,
    cut after CJK punctuation where a piece has some; nothing is lost, so a thread carries all of it."""
    clusters = _GRAPHEME.findall(word)
    pieces: list[str] = []
    while clusters:
        low, high = 1, len(clusters)
        while low < high:
            middle = (low + high + 1) // 2
            if measure("".join(clusters[:middle])) <= limit:
                low = middle
            else:
                high = middle - 1
        if low < len(clusters):
            breaks = [i + 1 for i in range(low) if clusters[i] in _CJK_BREAK and i + 1 >= low // 2]
            low = breaks[-1] if breaks else low
        pieces.append("".join(clusters[:low]))
        clusters = clusters[low:]
    return pieces
