"""Tracked links and the open pixel in a digest's HTML part, rewritten once per composed variant.

Compose finds the links; a :class:`Tracker` (given by the use case, which owns the edition's link table)
says what each becomes, so this module stays free of the database and the signing key. Only the HTML part
is rewritten: the text part keeps readable direct links. A link is left as it is when it is not http(s)
(``mailto:``), when it is a slot marker (unsubscribe and preferences links are per reader and must reach
the reader's page directly), and when it points at distro's own pages under ``web.public_url`` (the
archive, "view in browser", sign-up): those are ours, not the publication's.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from distro.sanitize import whole_graphemes

_HREF = re.compile(r'(<a\b[^>]*?\shref=")([^"]*)(")', re.IGNORECASE)
_ANCHOR_TEXT = re.compile(r"[^>]*>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]*>")
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class Link:
    """A link as the reader sees it: its URL (already UTM-tagged), and the story it is about, if any."""

    url: str
    text: str  # the anchor's visible text, for links that are not a story's
    title: str | None = None
    article_id: int | None = None


class Tracker(Protocol):
    """What a use case gives compose to track an edition: called once per link of the HTML part."""

    def href(self, link: Link) -> str | None:
        """The tracked URL for ``link``, or None to leave the link as it is."""

    def pixel(self) -> str | None:
        """The open pixel's URL, or None for no pixel."""


def trackable(url: str, own_url: str) -> bool:
    """Whether ``url`` is a link to the publication (http(s)), not a slot marker or distro's own page."""
    lowered = url.strip().lower()
    own = own_url.rstrip("/").lower() + "/"
    if not lowered.startswith(("http://", "https://")) or "%%distro:" in lowered:
        return False
    return not (lowered + "/").startswith(own)


def track_html(
    html: str, tracker: Tracker, *, own_url: str, stories: Mapping[str, tuple[str, int | None]]
) -> str:
    """``html`` with every trackable ``<a href>`` replaced by what ``tracker`` says, and its pixel added.

    ``stories`` maps a story's URL to its (title, article id), so the link table names the article.
    """

    def replace(match: re.Match[str]) -> str:
        url = html_lib.unescape(match[2])
        if not trackable(url, own_url):
            return match[0]
        title, article_id = stories.get(url, (None, None))
        tracked = tracker.href(Link(url, _anchor_text(html, match.end()), title, article_id))
        if tracked is None:
            return match[0]
        return f"{match[1]}{html_lib.escape(tracked, quote=True)}{match[3]}"

    rewritten = _HREF.sub(replace, html)
    pixel = tracker.pixel()
    return rewritten if pixel is None else add_pixel(rewritten, pixel)


def _anchor_text(html: str, start: int) -> str:
    found = _ANCHOR_TEXT.match(html, start)
    text = html_lib.unescape(_TAGS.sub(" ", found[1])) if found else ""
    return whole_graphemes(" ".join(text.split()), MAX_TEXT)


def add_pixel(html: str, url: str) -> str:
    """A 1x1 image at the end of the body: mail clients that show images fetch it when the message is
    shown. Empty ``alt``: it is decoration, and screen readers skip it."""
    image = (
        f'<img src="{html_lib.escape(url, quote=True)}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0;" />'
    )
    ends = list(_BODY_END.finditer(html))
    if not ends:
        return html + image
    at = ends[-1].start()
    return f"{html[:at]}{image}\n{html[at:]}"
