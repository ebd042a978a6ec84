"""The archive's Atom feed (RFC 4287), written with ElementTree so every title and every edition's HTML is
escaped by the XML writer, never by hand.

Each entry carries the edition's full public copy as ``content type="html"``; ids are the editions' archive
URLs, which do not change once an edition is sent. A feed without entries says it was updated at the epoch,
so that its bytes (and ETag) only change when an edition is added or kept out.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from distro.services.archive import Feed

ATOM = "http://www.w3.org/2005/Atom"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # XML 1.0 Char


def atom_feed(feed: Feed, *, author: str, language: str) -> bytes:
    """The feed document, UTF-8 with its XML declaration."""
    root = ET.Element("feed", {"xmlns": ATOM, "xml:lang": language})
    _text(root, "id", feed.url)
    _text(root, "title", feed.title)
    _text(root, "updated", _when(feed.updated or _EPOCH))
    ET.SubElement(ET.SubElement(root, "author"), "name").text = _xml(author)
    ET.SubElement(root, "link", {"rel": "self", "type": "application/atom+xml", "href": feed.url})
    ET.SubElement(root, "link", {"rel": "alternate", "type": "text/html", "href": feed.page_url})
    _text(root, "generator", "distro")
    for entry, copy in feed.entries:
        item = ET.SubElement(root, "entry")
        _text(item, "id", entry.url)
        _text(item, "title", entry.subject)
        _text(item, "published", _when(entry.sent_at))
        _text(item, "updated", _when(entry.sent_at))
        ET.SubElement(item, "link", {"rel": "alternate", "type": "text/html", "href": entry.url})
        ET.SubElement(
            item, "category", {"term": entry.newsletter.slug_prefix, "label": entry.newsletter.name}
        )
        content = ET.SubElement(item, "content", {"type": "html"})
        content.text = _xml(copy.body)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, tag).text = _xml(value)


def _xml(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot carry at all (escaping cannot save them)."""
    return _NOT_XML.sub("", value)


def _when(value: datetime) -> str:
    """An RFC 3339 date-time in UTC, to the second."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
