"""Credentials out of URLs before they are shown, stored as an error, labelled or logged.

A URL may carry a user name and password (``https://user:pw@host/feed``, a ``database_url``); a user name
alone can be a token too (``https://TOKEN@host/``). Everything distro shows an operator goes through one of
these two functions, so no page, metric label, status line or log line repeats the user-info part.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# scheme://userinfo@ — the user-info part runs to the last "@" before the authority ends (a raw "@" in a
# password is common in hand-written URLs), so it may not cross "/", "?", "#" or white space.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@")


def without_credentials(url: str) -> str:
    """``url`` with its user-info part (user name and password) removed; anything else is kept as is."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return strip_credentials(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def strip_credentials(text: str) -> str:
    """``text`` with the user-info part of every ``scheme://user:pass@`` in it removed (all occurrences)."""
    return _USERINFO.sub(r"\g<scheme>", text) if "@" in text else text
