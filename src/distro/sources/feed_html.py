"""The HTML fields of a feed entry (title, summary, content), without running feedparser's sanitiser on
markup where it could not change what distro reads.

By default feedparser runs every HTML field through its own sanitiser and its relative-URI resolver: two
pure-Python passes over the markup, 40% of its parse time on a WordPress-like feed. distro needs neither
for safety: every field becomes plain text through nh3 with no tag allowed
(:func:`distro.sanitize.to_plain_text`) and every URL kept goes through :func:`distro.sanitize.safe_url`.
But the sanitiser's output is what distro has always read (the text, the spaces between blocks, the
first ``<img>``), and a draft must not change because the parse got faster. So:

- the document is parsed with both passes off (the resolver stays on when the document may carry an
  ``xml:base`` or ``base`` attribute, see :func:`parser_options`: only then can it change a URL);
- a field whose markup is *simple* (:data:`_SIMPLE`: ordinary tags feedparser keeps, quoted ASCII
  attributes, entities it knows, at most one non-blank ``src`` per ``<img>``) is read as it is: for such
  markup the sanitiser only re-spells tags and attributes, which changes neither nh3's text nor the
  image found (tests compare both paths on generated markup);
- any other HTML field goes through feedparser's own resolver and sanitiser here, the same functions
  with the same arguments, when (and only if) distro reads it.

feedparser also repairs mis-decoded UTF-8 and maps C1 control characters after its sanitiser; on a field
that is not simple and carries those, it has now done so before. That is the one place the two orders
can differ, and even there the result is plain text from nh3, as strict as ever.
"""

from __future__ import annotations

import html
import html.entities
import re
from collections.abc import Iterator, Mapping
from html.parser import HTMLParser
from typing import Any, NamedTuple

from feedparser.sanitizer import _sanitize_html
from feedparser.urls import resolve_relative_uris
from feedparser.util import FeedParserDict

from distro.sources.base import MARKUP_SCAN_CHARS

# Elements feedparser's sanitiser keeps and html5ever parses as ordinary elements (no raw text, no table
# fostering, no foreign content).
_ELEMENTS = (
    "a|abbr|acronym|address|article|aside|b|big|blockquote|center|cite|code|dd|del|dfn|div|dl|dt|em|"
    "figcaption|figure|footer|h1|h2|h3|h4|h5|h6|header|i|ins|kbd|li|nav|ol|p|pre|q|s|samp|section|small|"
    "span|strike|strong|sub|sup|tt|u|ul|var"
)
_VALUE = r"(?:[ !#-%'-;=?-~]++|&amp;(?!#\d+;|#x[0-9a-fA-F]+;|\w+;))*+"  # printable ASCII, no "&<>
_ATTR = rf'[ \t\n]+(?!src=)[a-z][a-z0-9-]*="{_VALUE}"'
_SRC = rf'[ \t\n]+src="(?= *[^ "]){_VALUE}"'
_ENTITY = "|".join(sorted([*html.entities.name2codepoint, "apos"], key=len, reverse=True))
# Possessive quantifiers (*+, ++): a match never backtracks, so a long fragment that is not simple is
# refused in linear time.
_SIMPLE = re.compile(
    "(?:"
    + "|".join(
        [
            r"[^<&\x00-\x08\x0b-\x1f\x7f-\x9f]++",  # text
            rf"&(?:{_ENTITY});",
            r"&#[0-9]{1,7};",
            r"&#[xX][0-9a-fA-F]{1,6};",
            r"&(?=[ \t\n])",
            rf"<(?:{_ELEMENTS})(?:{_ATTR})*+[ \t\n]*+>",
            rf"</(?:{_ELEMENTS})>",
            rf"<(?:br|hr)(?:{_ATTR})*+[ \t\n]*+/?>",
            rf"<img(?:{_ATTR})*+(?:{_SRC}(?:{_ATTR})*+)?[ \t\n]*+/?>",
        ]
    )
    + ")*+"
)
# Longer simple markup could grow past MARKUP_SCAN_CHARS in the sanitiser's spelling, and be cut elsewhere.
_SIMPLE_MAX = MARKUP_SCAN_CHARS // 2
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_MAY_SET_BASE = (b"base", b"utf-7", b"utf7")
# In simple markup every "<" opens a tag, so the first <img> with a src is found by reading attributes with
# the grammar's own pattern (an attribute value may well hold ' src=').
_SIMPLE_IMG_SRC = re.compile(rf'<img(?:{_ATTR})*+[ \t\n]+src="({_VALUE})"')


def parser_options(data: bytes, content_type: str | None) -> dict[str, bool]:
    """feedparser's options for these bytes: its sanitiser off, and its resolver off when it has no base.

    Without an ``xml:base`` or ``base`` attribute (and with no URL given to feedparser) the resolver's
    base is empty and it changes no URL; the byte test is conservative: anything it cannot read as ASCII
    (UTF-16, EBCDIC, UTF-7) keeps the resolver on.
    """
    ascii_start = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") and b"\x00" not in data
    lowered = data.lower()  # bytes.lower is ASCII only; "in" on it beats a case-blind regex tenfold
    declared = (content_type or "").lower().encode("ascii", "replace")
    may_have_base = any(word in lowered or word in declared for word in _MAY_SET_BASE)
    return {"sanitize_html": False, "resolve_relative_uris": may_have_base or not ascii_start}


def is_simple(markup: str) -> bool:
    """Markup that reads the same (text and first image) with or without feedparser's sanitiser."""
    return len(markup) <= _SIMPLE_MAX and _SIMPLE.fullmatch(markup) is not None


class Field(NamedTuple):
    """One HTML field as feedparser's sanitising parse would have handed it over; ``simple`` when it is
    simple markup (so its first image can be found without an HTML parser, :func:`first_img_src`)."""

    markup: str
    simple: bool = False


class EntryMarkup:
    """The HTML fields of one parsed entry as feedparser's sanitising parse would have handed them over.

    ``resolved`` says whether feedparser's resolver already ran; ``sanitized`` that its sanitiser did (the
    reference path, :func:`distro.sources.feed.parse_feed_document` with ``sanitize_in_parser``), in
    which case every field is taken as it is. Each field is worked out at most once, when first read.
    """

    def __init__(self, entry: Mapping[str, Any], *, resolved: bool, sanitized: bool) -> None:
        self._entry = entry
        self._resolved = resolved
        self._sanitized = sanitized
        self._summary: Field | None = None
        self._contents: list[Field] | None = None

    def title(self) -> str:
        return self._field(
            as_text(get_field(self._entry, "title")), get_field(self._entry, "title_detail")
        ).markup

    def summary(self) -> Field:
        if self._summary is None:
            value = as_text(get_field(self._entry, "summary"))
            self._summary = self._field(
                value, get_field(self._entry, "summary_detail") or self._source(value)
            )
        return self._summary

    def contents(self) -> Iterator[Field]:
        if self._contents is None:
            found = mappings(get_field(self._entry, "content"))
            self._contents = [self._field(as_text(content.get("value")), content) for content in found]
        return iter(self._contents)

    def _source(self, summary: str) -> Mapping[str, Any] | None:
        """The content a summary without details was copied from (feedparser copies content to summary)."""
        return next(
            (c for c in mappings(get_field(self._entry, "content")) if c.get("value") == summary), None
        )

    def _field(self, value: str, detail: Any) -> Field:
        if self._sanitized:
            return Field(value)
        if is_simple(value):
            return Field(value, simple=True)
        # A field feedparser did not type is HTML to it, as to us.
        kind = as_text(detail.get("type", "text/html")) if isinstance(detail, Mapping) else "text/html"
        if kind not in _HTML_TYPES:
            return Field(value)
        if not self._resolved:
            value = resolve_relative_uris(value, "", "utf-8", kind)
        return Field(str(_sanitize_html(value, "utf-8", kind)))


def first_img_src(field: Field) -> str | None:
    """The ``src`` of the first ``<img>`` with one, as :func:`html_first_img_src` finds it in the field's
    first MARKUP_SCAN_CHARS; in simple markup, without an HTML parser (html.parser unescapes the value
    the same way)."""
    if not field.simple:
        return html_first_img_src(field.markup[:MARKUP_SCAN_CHARS])
    found = _SIMPLE_IMG_SRC.search(field.markup)
    return html.unescape(found.group(1)) if found else None


class _Found(Exception):
    """Raised by :class:`_FirstImage` once it has its answer: nothing after it can change the answer."""


class _FirstImage(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.src: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.src is None and tag == "img":
            self.src = next((value for name, value in attrs if name == "src" and value), None)
            if self.src is not None:
                raise _Found


def html_first_img_src(markup: str) -> str | None:
    """The ``src`` of the first ``<img>`` (with a ``src``) in an HTML fragment (unvalidated: pass it to
    safe_url). The rest of the fragment is not parsed."""
    if "<img" not in markup.lower():
        return None
    finder = _FirstImage()
    try:
        finder.feed(markup)
        finder.close()
    except (_Found, AssertionError, ValueError):  # html.parser raises the last two on broken declarations
        pass
    return finder.src


# feedparser's dictionaries translate some keys (``url`` -> ``href``, ``updated`` -> ``published``);
# every other key reads the same, and faster, through dict.get.
_TRANSLATED = frozenset(FeedParserDict.keymap) | {
    "category",
    "enclosures",
    "license",
    "updated",
    "updated_parsed",
}


def get_field(mapping: Mapping[str, Any], key: str) -> Any:
    """``mapping.get(key)``, through dict.get where feedparser's dictionary would give the same."""
    if isinstance(mapping, dict) and key not in _TRANSLATED:
        return dict.get(mapping, key)
    return mapping.get(key)


def as_text(value: Any) -> str:
    """``value`` if it is a string, else "" (feedparser's fields are loosely typed)."""
    return value if isinstance(value, str) else ""


def mappings(value: Any) -> list[Mapping[str, Any]]:
    """The dictionaries in ``value`` when it is a list, else none."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]
