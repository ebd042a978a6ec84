"""Mastodon's rules: 500 characters unless the instance allows more, every URL counted as 23; the body."""

from __future__ import annotations

from typing import Any

from distro.platforms.text import URL_RE

DEFAULT_LIMIT = 500  # the instance may allow more: ``mastodon.max_length``
URL_LENGTH = 23


def length(text: str) -> int:
    """Mastodon's count: characters, with every URL counted as :data:`URL_LENGTH` whatever its length."""
    return len(URL_RE.sub("x" * URL_LENGTH, text))


def build_body(text: str, *, visibility: str = "public", language: str | None = None) -> dict[str, Any]:
    """The status parameters; the file sink writes exactly this and the channel posts exactly this."""
    body: dict[str, Any] = {"status": text, "visibility": visibility}
    if language:
        body["language"] = language
    return body
