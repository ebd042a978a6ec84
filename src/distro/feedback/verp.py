"""VERP: each delivery's envelope sender names it, so a bounce says which delivery it is about even when the
report itself is malformed or the reader's address was forwarded elsewhere.

``[email] bounce_address`` is a template such as ``bounces+{token}@bounces.example.org``; the token is
:func:`distro.tokens.bounce_token` (signed, so a forged one is told apart from ours).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

PLACEHOLDER = "{token}"
_TOKEN = r"([0-9]{1,18}-[0-9a-f]{20})"


def address(template: str, token: str) -> str:
    """The envelope sender of one delivery."""
    return template.replace(PLACEHOLDER, token)


@lru_cache(maxsize=8)
def _pattern(template: str) -> re.Pattern[str]:
    before, _, after = template.partition(PLACEHOLDER)
    return re.compile(re.escape(before) + _TOKEN + re.escape(after), re.IGNORECASE)


def token_in(template: str, candidates: Iterable[str | None]) -> str | None:
    """The first VERP token found in ``candidates`` (addresses or header values, e.g. ``To``,
    ``Delivered-To``, the LMTP recipient), lower-cased and still unverified; None if there is none."""
    if PLACEHOLDER not in template:
        return None
    pattern = _pattern(template)
    for candidate in candidates:
        if candidate and (found := pattern.search(candidate)):
            return found.group(1).lower()
    return None
