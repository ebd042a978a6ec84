"""Tracked links as they are made: an edition's link table while it is composed, social posts' links.

A tracked link is ``{web.public_url}/r/<token>``; the token is :func:`distro.tokens.sign_fields`:

- ``click:<edition slug>:<link number>`` for an edition's link: the edition and the link, never the reader;
- ``social:<article id>:<platform>`` for a social post's link (``tracking.social_links``);
- ``open:<edition slug>`` for the open pixel, ``{public_url}/o/<token>.gif`` (``tracking.opens``).

With ``tracking.per_reader`` every edition link and the pixel also carry ``?u=<reader token>``
(``reader:<edition slug>:<subscriber id>``, signed apart), filled per message through the ``reader`` slot
(:mod:`distro.compose.message`), so the default path carries no per-reader data at all.

Links are numbered once per edition and a number never changes its URL, so a token in any copy ever sent
(a test copy, a variant, an edition recomposed after an edit) keeps leading where it led. The full
edition numbers its links (:func:`edition_tracker`); a section variant only reuses them
(``numbering=False``): its links are the full edition's, and one that is not stays direct.
"""

from __future__ import annotations

import html as html_lib
import re

from distro.app import App
from distro.compose.message import subscriber_slots
from distro.compose.social import SocialLink
from distro.compose.tracking import Link
from distro.errors import DistroError
from distro.models import Article, DigestLink
from distro.store import clicks
from distro.tokens import InvalidToken, read_fields, sign_fields

CLICK_SCOPE, SOCIAL_SCOPE, OPEN_SCOPE, READER_SCOPE = "click", "social", "open", "reader"
_TOKEN = r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"
_READER = r'(?:\?u=[^"\s<>]*)?'


def _base(app: App) -> str:
    return app.settings.web.public_url.rstrip("/")


def _reader_suffix(app: App) -> str:
    """``?u=`` and the reader slot with ``tracking.per_reader``, else nothing (no per-reader data)."""
    return f"?u={subscriber_slots('html').reader}" if app.settings.tracking.per_reader else ""


def link_url(app: App, edition: str, position: int) -> str:
    return f"{_base(app)}/r/{sign_fields(app.signing_key, CLICK_SCOPE, edition, position)}"


def pixel_url(app: App, edition: str) -> str:
    return f"{_base(app)}/o/{sign_fields(app.signing_key, OPEN_SCOPE, edition)}.gif"


def reader_token(app: App, edition: str, subscriber_id: int) -> str | None:
    """The per-message value of the ``reader`` slot: a token only with ``tracking.per_reader``."""
    tracking = app.settings.tracking
    if not tracking.per_reader or not (tracking.clicks or tracking.opens):
        return None
    return sign_fields(app.signing_key, READER_SCOPE, edition, subscriber_id)


def read_reader(app: App, edition: str, token: str | None) -> int | None:
    """The subscriber a ``?u=`` names for ``edition``, only with ``tracking.per_reader`` (else None, whatever
    the link carries); a forged, foreign or empty one is None too: the click still counts, anonymously."""
    if not token or not app.settings.tracking.per_reader:
        return None
    try:
        named, subscriber = read_fields(app.signing_key, READER_SCOPE, token, 2)
    except InvalidToken:
        return None
    return int(subscriber) if named == edition and subscriber.isdigit() else None


class EditionLinks:
    """The :class:`~distro.compose.tracking.Tracker` of one edition: numbers (or reuses) its links."""

    def __init__(self, app: App, edition: str, *, numbering: bool) -> None:
        self._app, self._edition, self._numbering = app, edition, numbering
        self._known = {link.url: link for link in clicks.links_of(app.engine, edition)}
        self._next = max((link.position for link in self._known.values()), default=0) + 1
        self._new: list[DigestLink] = []
        self._suffix = _reader_suffix(app)

    def href(self, link: Link) -> str | None:
        if not self._app.settings.tracking.clicks:
            return None
        found = self._known.get(link.url)
        if found is None:
            if not self._numbering:
                return None
            title = link.title or link.text or None
            found = DigestLink(
                edition=self._edition,
                position=self._next,
                url=link.url,
                title=title,
                article_id=link.article_id,
            )
            self._known[link.url], self._next = found, self._next + 1
            self._new.append(found)
        return link_url(self._app, self._edition, found.position) + self._suffix

    def pixel(self) -> str | None:
        if not self._app.settings.tracking.opens:
            return None
        return pixel_url(self._app, self._edition) + self._suffix

    def save(self) -> None:
        """Store the links numbered while composing. DistroError when another composition of the same
        edition numbered them first (two saves at once): composing again then uses its numbers."""
        stored = {link.position: link.url for link in clicks.add_links(self._app.engine, self._new)}
        if any(stored.get(link.position) != link.url for link in self._new):
            raise DistroError(f"edition {self._edition} was composed twice at once; compose it again")
        self._new = []


def edition_tracker(app: App, edition: str, *, numbering: bool = True) -> EditionLinks | None:
    """The tracker for composing ``edition`` (None when neither clicks nor opens are tracked)."""
    tracking = app.settings.tracking
    if not (tracking.clicks or tracking.opens):
        return None
    return EditionLinks(app, edition, numbering=numbering)


def social_links(app: App) -> SocialLink | None:
    """How social posts link with ``tracking.social_links``: through the redirector, naming the article
    and the platform (every account on a platform shares the link). None: direct links."""
    if not app.settings.tracking.social_links:
        return None

    def link(article: Article, platform: str) -> str:
        token = sign_fields(app.signing_key, SOCIAL_SCOPE, article.id or 0, platform)
        return f"{_base(app)}/r/{token}"

    return link


def direct_html(app: App, edition: str, html: str) -> str:
    """``html`` of ``edition`` with its tracked links back to their stored URLs and without the pixel:
    for a copy that is not a reader's message (the web archive), whose visits are not the edition's
    clicks. A token it cannot read is left as it is."""
    positions = {link.position: link.url for link in clicks.links_of(app.engine, edition)}
    base = re.escape(_base(app))
    tracked = re.compile(f"{base}/r/(?P<token>{_TOKEN}){_READER}")
    pixel = re.compile(f'<img src="{base}/o/{_TOKEN}\\.gif{_READER}"[^>]*/>\n?')

    def direct(match: re.Match[str]) -> str:
        try:
            named, position = read_fields(app.signing_key, CLICK_SCOPE, match["token"], 2)
        except InvalidToken:
            return match[0]
        url = positions.get(int(position)) if named == edition and position.isdigit() else None
        return match[0] if url is None else html_lib.escape(url, quote=True)

    return tracked.sub(direct, pixel.sub("", html))
