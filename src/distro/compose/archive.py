"""An edition's public web copy: the stored digest HTML with everything personal taken out.

``Digest.html`` (the all-sections variant) holds slot markers where a reader's values go
(:mod:`distro.compose.message`). The web copy fills them for nobody: the greeting gets the newsletter's
fallback ("Hello reader,"), unsubscribe and preferences links point at the public sign-up page, and the
address is left out. Blocks a template marks ``dm-email-only`` (the "View in browser" line, "you are
receiving this as ...") are dropped, and so are the inbox preview line, Outlook's conditional comments and
any script. What is left is split into the head's ``<style>`` blocks and the body's markup, so a web page
can place them in its own layout and a feed can carry the markup.

:func:`public_copy` is the one place stored HTML becomes archive HTML: once links in the HTML part are
tracked (``/r/...``), turning them back into direct links belongs here too.
"""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass
from urllib.parse import quote

import lxml.html

from distro.compose.message import fill_slots
from distro.settings import Settings

EMAIL_ONLY = "dm-email-only"  # css-class of blocks that only make sense in a reader's own copy
_EMAIL_ONLY_XPATH = f'//*[contains(concat(" ", normalize-space(@class), " "), " {EMAIL_ONLY} ")]'
# The inbox's preview line (mj-preview): hidden text, which a feed reader that drops styles would show.
_PREHEADER_XPATH = (
    "/html/body/div[contains(translate(@style, ' ', ''), 'display:none')]|//*[@class='dm-preheader']"
)
_LINK_SLOTS = ("unsubscribe_url", "unsubscribe_mailto", "preferences_url")


@dataclass(frozen=True, slots=True)
class PublicCopy:
    """The web copy: ``styles`` are CSS texts (safe inside ``<style>``), ``body`` one ``<div>`` of markup."""

    styles: tuple[str, ...]
    body: str


def archive_url(settings: Settings, slug: str) -> str:
    """Where edition ``slug`` is on the web: ``{web.public_url}/archive/<slug>``."""
    return f"{settings.web.public_url.rstrip('/')}/archive/{quote(slug)}"


def signup_url(settings: Settings) -> str:
    return f"{settings.web.public_url.rstrip('/')}/subscribe"


def public_copy(html: str, *, signup: str) -> PublicCopy:
    """The web copy of stored digest ``html``; personal links go to ``signup`` (the sign-up page).

    ValueError for a damaged slot marker, as when the message is built.
    """
    filled = fill_slots(html, lambda context, slot, arg: _public_value(context, slot, arg, signup))
    if not filled.strip():
        return PublicCopy((), "")
    document = lxml.html.document_fromstring(filled)
    dropped = document.xpath(f"{_EMAIL_ONLY_XPATH}|{_PREHEADER_XPATH}|//comment()|//script")
    for element in dropped:
        element.drop_tree()  # keeps the text that follows it
    for wrapper in document.xpath('//*[@role="main"]'):
        for name in ("role", "aria-label", "aria-roledescription"):
            wrapper.attrib.pop(name, None)  # the page has its own main landmark; the email's goes
    styles = tuple(_safe_css(str(style.text or "")) for style in document.xpath("//style"))
    body = document.body
    for style in body.xpath(".//style"):
        style.drop_tree()  # placed with the others
    body.tag = "div"
    body.set("class", "digest")
    return PublicCopy(styles, str(lxml.html.tostring(body, encoding="unicode")))


def _public_value(context: str, slot: str, arg: str, signup: str) -> str:
    """A slot's value for nobody in particular, HTML-escaped as the html part wants it."""
    if context != "html":
        raise ValueError(f"a {context} slot marker is in the HTML part")
    if slot == "greeting_name":
        return html_lib.escape(arg)
    return html_lib.escape(signup) if slot in _LINK_SLOTS else ""


def _safe_css(css: str) -> str:
    """CSS that cannot end its ``<style>`` element early (ours never does; a site's template might)."""
    return css.replace("</", "<\\/")
