"""The picture's own description in a Media RSS feed (``<media:description>`` of the item's image), read
from the feed's XML because feedparser folds it into the entry's summary instead of keeping it.

It becomes the lead image's alt text in the digest. Only feeds that have one pay for the second read.
"""

from __future__ import annotations

from lxml import etree

from distro.sanitize import safe_url, to_plain_text
from distro.sources.base import IMAGE_ALT_MAX_CHARS

MEDIA = "http://search.yahoo.com/mrss/"
ATOM = "http://www.w3.org/2005/Atom"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)


def media_descriptions(data: bytes, base: str | None) -> dict[str, str]:
    """Item link (absolute) -> the description of its image; empty for a feed without any."""
    if b"mrss" not in data or b"description" not in data:
        return {}
    try:
        root = etree.fromstring(data, _PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return {}
    if root is None:
        return {}
    found: dict[str, str] = {}
    for item in root.iter("item", f"{{{ATOM}}}entry"):
        description = _image_description(item)
        link = _link(item, base)
        if description and link and link not in found:
            found[link] = description
    return found


def _image_description(item: etree._Element) -> str:
    for content in item.iter(f"{{{MEDIA}}}content"):
        medium, kind = content.get("medium", ""), content.get("type", "")
        if medium not in ("", "image") or (kind and not kind.startswith("image/")):
            continue
        described = content.find(f"{{{MEDIA}}}description")
        if described is not None:
            return to_plain_text(described.xpath("string()"), IMAGE_ALT_MAX_CHARS)
    return ""


def _link(item: etree._Element, base: str | None) -> str | None:
    rss = item.find("link")
    if rss is not None and rss.text:
        return safe_url(rss.text.strip(), base)
    for atom in item.iterfind(f"{{{ATOM}}}link"):
        if atom.get("rel", "alternate") == "alternate" and atom.get("href"):
            return safe_url(atom.get("href", "").strip(), base)
    return None
