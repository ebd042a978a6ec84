"""The desk's "Saved." and "Not sent: ..." messages, carried across a Post/Redirect/Get by a signed cookie.

The texts used to travel in the redirect's query string (``?notice=...``), so any link could make the real
desk show any text ("your session expired, sign in at ..."). Now a form handler puts its message in a
short-lived cookie signed with the signing key and bound to the editor's session; the next desk page
shows it once and deletes it. A cookie that is missing, altered, or made for another session shows
nothing, and the query string is never read for messages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

import fastapi
from fastapi.responses import Response

from distro.web.desk_auth import Desk, see_other

FLASH_COOKIE = "distro_desk_flash"
MAX_TEXT = 1000  # a cookie holds about 4 KB; a message is a sentence or two
MAX_AGE = 300


@dataclass(frozen=True, slots=True)
class Flash:
    """What the page shows above its content; ``present`` when the request carried a flash cookie."""

    notice: str | None = None
    error: str | None = None
    present: bool = False

    def clear(self, response: Response) -> Response:
        """The page's response, with the flash cookie deleted once it has been shown."""
        if self.present:
            response.delete_cookie(FLASH_COOKIE, path="/desk")
        return response


def _tag(desk: Desk, body: str) -> str:
    message = f"desk-flash:{desk.csrf}:{body}".encode()
    return hmac.new(desk.app.signing_key, message, hashlib.sha256).hexdigest()[:32]


def back(desk: Desk, location: str, *, notice: str | None = None, error: str | None = None) -> Response:
    """A 303 to ``location`` that makes the page there show ``notice`` or ``error`` once."""
    texts = {"notice": (notice or "")[:MAX_TEXT] or None, "error": (error or "")[:MAX_TEXT] or None}
    body = base64.urlsafe_b64encode(json.dumps(texts).encode()).decode("ascii").rstrip("=")
    response = see_other(location)
    response.set_cookie(
        FLASH_COOKIE,
        f"{body}.{_tag(desk, body)}",
        max_age=MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=desk.app.settings.web.public_url.lower().startswith("https://"),
        path="/desk",
    )
    return response


def read_flash(request: fastapi.Request, desk: Desk) -> Flash:
    """The message a form handler left for this session's next page; an empty Flash for anything else."""
    raw = request.cookies.get(FLASH_COOKIE)
    if raw is None:
        return Flash()
    body, _, tag = raw.partition(".")
    if not hmac.compare_digest(tag.encode(), _tag(desk, body).encode()):
        return Flash(present=True)
    try:
        texts = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, binascii.Error):
        return Flash(present=True)
    notice, error = (texts.get(k) if isinstance(texts, dict) else None for k in ("notice", "error"))
    return Flash(notice if isinstance(notice, str) else None, error if isinstance(error, str) else None, True)
