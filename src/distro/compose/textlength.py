"""Post length as X counts it (twitter-text v3): weighted characters, URLs as 23, NFC first.

Code points in the "light" ranges weigh 1 (Latin, Greek, Cyrillic, Hebrew, Arabic, Devanagari, general
punctuation ...); every other code point weighs 2 (CJK, most symbols). An emoji sequence (with skin tone
modifiers, variation selectors, ZWJ joins, keycaps, flags) weighs 2 as a whole. Every http(s) URL weighs
23 whatever its length, because X wraps it in t.co.
"""

from __future__ import annotations

import re
import unicodedata

X_LIMIT = 280
URL_WEIGHT = 23
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
URL_RE = re.compile(r"https?://[^\s<>\"]+[^\s<>\"\.,;:!?\)\]\}'”’]", re.IGNORECASE)

_ZWJ = 0x200D
_VS16 = 0xFE0F
_KEYCAP = 0x20E3


def _is_emoji_base(cp: int) -> bool:
    return (
        0x1F000 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or 0x2B00 <= cp <= 0x2BFF
        or cp in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D, 0x3297, 0x3299)
        or 0x2190 <= cp <= 0x21FF
        or 0x2300 <= cp <= 0x23FF
    )


def _is_emoji_modifier(cp: int) -> bool:
    return 0x1F3FB <= cp <= 0x1F3FF or cp == _VS16 or cp == _KEYCAP or 0xE0020 <= cp <= 0xE007F


def _char_weight(cp: int) -> int:
    return 1 if any(lo <= cp <= hi for lo, hi in _LIGHT_RANGES) else 2


def _emoji_span(text: str, start: int) -> int:
    """Length (in code points) of the emoji sequence starting at ``start``, or 0 if none starts there."""
    cp = ord(text[start])
    n = len(text)
    if 0x1F1E6 <= cp <= 0x1F1FF:  # regional indicators pair into a flag
        return 2 if start + 1 < n and 0x1F1E6 <= ord(text[start + 1]) <= 0x1F1FF else 1
    keycap = cp < 0x80 and (text[start].isdigit() or text[start] in "#*")
    if keycap:
        end = start + 1
        if end < n and ord(text[end]) == _VS16:
            end += 1
        return end - start + 1 if end < n and ord(text[end]) == _KEYCAP else 0
    if not _is_emoji_base(cp):
        return 0
    end = start + 1
    while end < n:
        nxt = ord(text[end])
        if _is_emoji_modifier(nxt):
            end += 1
        elif nxt == _ZWJ and end + 1 < n and _is_emoji_base(ord(text[end + 1])):
            end += 2
        else:
            break
    return end - start


def _plain_weight(text: str) -> int:
    weight = 0
    i = 0
    while i < len(text):
        span = _emoji_span(text, i)
        if span:
            weight += 2
            i += span
        else:
            weight += _char_weight(ord(text[i]))
            i += 1
    return weight


def weighted_length(text: str) -> int:
    """The length X reports for ``text``; the post is accepted when it is at most :data:`X_LIMIT`."""
    text = unicodedata.normalize("NFC", text)
    weight = 0
    last = 0
    for match in URL_RE.finditer(text):
        weight += _plain_weight(text[last : match.start()]) + URL_WEIGHT
        last = match.end()
    return weight + _plain_weight(text[last:])


def _protected(word: str) -> bool:
    return bool(URL_RE.fullmatch(word)) or word.startswith(("#", "@"))


def shorten(text: str, limit: int = X_LIMIT, *, ellipsis: str = "…") -> str:
    """Cut ``text`` at word boundaries until it fits, keeping URLs, hashtags and mentions whole.

    Words are dropped from the end of the last cuttable run, and an ellipsis marks the cut. Emoji and
    surrogate pairs are never split because only whole words are removed.
    """
    text = unicodedata.normalize("NFC", text)
    if weighted_length(text) <= limit:
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
        if weighted_length(candidate) <= limit:
            return candidate
    raise ValueError(f"text cannot be shortened to {limit}: its URLs and hashtags alone are too long")
