"""What a composed email must pass before it is sent: checks on its HTML and on its wire bytes.

Each finding is an error (the send is refused, with the finding as the one-line reason) or a warning
(shown to the editor). These are the checks that need nothing but the message; the ones that need the
settings and the machine (DKIM, SpamAssassin) are in :mod:`distro.services.digest_check`.

- **size**: Gmail clips a message whose HTML part is over 102 KB, measured as it travels: the
  quoted-printable body of the text/html part, which is larger than the decoded HTML (every ``=`` is
  ``=3D``, every non-ASCII byte three characters, and a soft break every 76).
- **links**: every ``href`` is absolute ``https:`` (or ``mailto:``): a relative link goes nowhere in an
  inbox and ``http:`` is refused by some clients and tracked by networks; ``http:`` is an error only when
  ``https_only`` (a real send), a warning otherwise (a site on localhost).
- **images**: every ``<img>`` has an ``alt`` (``alt=""`` for a decorative one).
- **headings**: an ``<h1>``, so a screen reader can find the message's title and jump between stories.
- **stories**: each story title given is in the HTML (a template mistake can drop one silently).
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import lxml.html

Level = Literal["error", "warning"]
_HTML_PART = re.compile(
    rb'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: [\w-]+\r\n\r\n'
)


@dataclass(frozen=True, slots=True)
class Finding:
    level: Level
    check: str  # size, links, images, headings, stories, template, spam, dkim, https
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.check}: {self.message}"


def html_part_bytes(message: bytes) -> int:
    """The encoded size of ``message``'s text/html body, as Gmail counts it (0 when there is none)."""
    match = _HTML_PART.search(message)
    if match is None:
        return 0
    boundary = re.search(rb'boundary="([^"]+)"', message)
    end = message.find(b"\r\n--" + boundary[1], match.end()) if boundary else -1
    return (end if end >= 0 else len(message)) - match.end()


def check_size(message: bytes, limit: int) -> list[Finding]:
    size = html_part_bytes(message)
    if size <= limit:
        return []
    return [
        Finding(
            "error",
            "size",
            f"the HTML part is {size / 1024:.1f} KB as sent, over Gmail's {limit / 1024:.0f} KB clip "
            "(the footer with the unsubscribe link would be hidden): remove stories or shorten the intro",
        )
    ]


def check_html(html: str, *, https_only: bool, titles: Iterable[str] = ()) -> list[Finding]:
    """Findings for the HTML a reader gets (slots filled)."""
    found: list[Finding] = []
    if not html.strip():
        return found  # a text-only message
    document = lxml.html.document_fromstring(html)
    for href in dict.fromkeys(str(h).strip() for h in document.xpath("//a/@href")):
        scheme = href.partition(":")[0].lower() if ":" in href else ""
        if scheme in ("https", "mailto"):
            continue
        if scheme == "http":
            level: Level = "error" if https_only else "warning"
            found.append(Finding(level, "links", f"link is not https: {href[:120]}"))
        else:
            found.append(Finding("error", "links", f"link is not an absolute https URL: {href[:120]}"))
    for image in document.xpath("//img[not(@alt)]"):
        found.append(Finding("error", "images", f"image without alt: {str(image.get('src', ''))[:120]}"))
    if not document.xpath("//h1"):
        found.append(Finding("warning", "headings", "no <h1>: screen readers find no title for the message"))
    text = " ".join(document.text_content().split())
    for title in titles:
        if " ".join(html_lib.unescape(title).split()) not in text:
            found.append(Finding("error", "stories", f"story missing from the HTML: {title[:80]}"))
    return found
