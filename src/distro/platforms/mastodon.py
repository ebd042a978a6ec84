"""Mastodon's rules: 500 characters unless the instance allows more, counted as Mastodon counts; the body.

Mastodon's ``StatusLengthValidator#countable_text`` replaces every URL its extractor finds with 23 ``x``
and every mention ``@user@domain`` with ``@user``, then counts grapheme clusters. Its extractor is
twitter-text's (``extract_urls_with_indices`` with ``extract_url_without_protocol: false``): only URLs
with ``http://`` or ``https://`` and a host twitter-text accepts (a known TLD; not ``.example``, not a
bare run of letters) count as 23; anything else counts in full. ``twitter-text-parser`` is the same
extractor, so the two cannot drift apart here.
"""

from __future__ import annotations

from typing import Any

import regex

DEFAULT_LIMIT = 500  # the instance may allow more: ``mastodon.max_length``
URL_LENGTH = 23  # StatusLengthValidator::URL_PLACEHOLDER_CHARS
_PLACEHOLDER = "x" * URL_LENGTH
# Account::MENTION_RE: @username, optionally @domain; not after "=", "/" or a word character, and not
# followed by another "@" or "://" (twitter-text's end_mention_match).
_MENTION = regex.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@[\w.-]+\w+)?(?![@＠]|://)", regex.IGNORECASE
)
_GRAPHEME = regex.compile(r"\X")


def countable_text(text: str) -> str:
    """``text`` as Mastodon measures it: URLs as 23 ``x``, mentions without their domain."""
    from twitter_text.extract_urls import extract_urls_with_indices  # on first use, as distro.platforms.x

    entities = [
        (u["indices"][0], u["indices"][1], _PLACEHOLDER) for u in extract_urls_with_indices(text, False)
    ]
    entities += [(m.start(), m.end(), f"@{m[1]}") for m in _MENTION.finditer(text)]
    parts: list[str] = []
    last = 0
    for start, end, replacement in sorted(entities):
        if start < last:  # remove_overlapping_entities: the earlier entity wins
            continue
        parts += [text[last:start], replacement]
        last = end
    return "".join([*parts, text[last:]])


def length(text: str) -> int:
    """Mastodon's count: grapheme clusters of :func:`countable_text` (a URL 23, a mention its ``@user``)."""
    return len(_GRAPHEME.findall(countable_text(text)))


def build_body(text: str, *, visibility: str = "public", language: str | None = None) -> dict[str, Any]:
    """The status parameters; the file sink writes exactly this and the channel posts exactly this."""
    body: dict[str, Any] = {"status": text, "visibility": visibility}
    if language:
        body["language"] = language
    return body
