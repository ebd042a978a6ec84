"""Turn untrusted feed text into plain text and untrusted links into safe absolute URLs.

Everything a source reads from the outside world passes through here before it is stored, so the rest of
distro can rely on two facts: an article's title and summary are plain text (no markup, no entities, no
control characters, no invisible or bidi controls, whitespace collapsed), and every URL it holds is an
absolute ``http``/``https`` URL.

Plain text is inert only while whoever prints it escapes it for the target format; Jinja's autoescape does
that for HTML, and the text parts of messages need no escaping. A feed that writes ``&amp;lt;b&amp;gt;``
really means the five characters ``<b>`` as text, and that is what it gets.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urljoin, urlsplit

import nh3
import regex

# Tags whose boundaries separate words when a browser renders them; without a space, "<p>a</p><p>b</p>"
# would become "ab" once the tags are stripped. Inline tags (em, a, span) must not add spaces: "un<em>real"
# is one word.
# Only the "<" is matched (the name is a lookahead): the same places as matching the whole name, faster.
_BLOCK_TAG = re.compile(
    r"<(?=/?(?:address|article|aside|blockquote|br|dd|div|dl|dt|figcaption|figure|footer|h[1-6]|header|"
    r"hr|li|main|nav|ol|p|pre|section|table|tbody|td|tfoot|th|thead|tr|ul)\b)",
    re.IGNORECASE,
)
# C0/C1 control characters other than whitespace: invisible, and PostgreSQL refuses NUL in text columns.
# Also the invisible and bidi controls a feed has no business sending into a title: zero-width space,
# LRM/RLM, the embeddings and overrides (U+202A-E, which can reorder a post's text, "Trojan source"
# style), the isolates (U+2066-9), the BOM (U+FEFF) and the noncharacters U+FFFE/U+FFFF; X refuses a
# post holding the last ones. ZWNJ and ZWJ (U+200C, U+200D) are kept: emoji sequences (a family, a
# profession) and Persian and Indic spelling need them.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]"
)
# What makes a URL unusable before it is even parsed: those control characters, and tab, CR and LF (which
# browsers strip, so "java\tscript:" would run as "javascript:").
_CONTROL_IN_URL = re.compile(r"[\x00-\x0b\x0d-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s")  # exactly str.isspace, code point for code point (tests check every one)
# A tag, or the start of a character reference: without either, nh3 and html.unescape give text back as
# it was (NUL aside, which _CONTROL drops too), so to_plain_text may skip them. Only a letter, a digit or
# "#" after "&" starts a reference, for html5ever as for the HTML standard.
_MARKUP = re.compile(r"<|&[#0-9A-Za-z]")
_ELLIPSIS = "\u2026"
_GRAPHEME = regex.compile(r"\X")  # an extended grapheme cluster: what a reader sees as one character

# Longest URL we keep: the article URL and image columns hold 2000 characters.
MAX_URL_LENGTH = 2000


def to_plain_text(markup: str, max_chars: int | None = None) -> str:
    """Return the readable text of an HTML fragment (or of text that may contain entities).

    Tags are dropped, ``script`` and ``style`` together with their content; entities are decoded once;
    runs of whitespace become one space. With ``max_chars``, the result is at most that long, cut at a word
    boundary when there is one, and ends with an ellipsis when something was cut.

    Text with neither a tag nor a character reference in it (most titles, author names and categories)
    skips the HTML parser: the result is byte for byte what nh3 would give (tests hold it, with hypothesis,
    to the implementation that sent every string through nh3), only sooner.
    """
    if not markup.isascii():
        # Lone surrogates cannot cross into nh3 (Rust strings); they carry no text anyway.
        markup = markup.encode("utf-8", "replace").decode("utf-8")
    text = _markup_to_text(markup) if _MARKUP.search(markup) else _CONTROL.sub("", markup)
    text = " ".join(text.split())
    if max_chars is not None:
        text = truncate(text, max_chars)
    return text


def _markup_to_text(markup: str) -> str:
    """The text of a fragment through nh3, whitespace not yet collapsed: the path any markup takes."""
    spaced = _BLOCK_TAG.sub(" <", markup)
    cleaned = nh3.clean(spaced, tags=set(), clean_content_tags={"script", "style"}, strip_comments=True)
    return _CONTROL.sub("", html.unescape(cleaned))


def truncate(text: str, max_chars: int) -> str:
    """Cut ``text`` to at most ``max_chars`` characters at a word boundary, marking the cut with an ellipsis.

    The limit counts code points (what the database columns hold), but the cut falls between grapheme
    clusters: a family emoji, a flag or a letter with its combining marks is kept whole or dropped whole,
    never left as a lone regional indicator or a dangling ZWJ. A single word longer than the limit is cut
    between its graphemes rather than dropped.
    """
    if max_chars <= 0:
        return ""
    if len(text) <= max_chars:  # the common case: no grapheme scan at all
        return text
    room = max_chars - len(_ELLIPSIS)
    cut = text[: room + 1]
    space = cut.rfind(" ")
    head = whole_graphemes(text, space if space > 0 else room)
    while head:
        stripped = whole_graphemes(text, len(head.rstrip(" ,;:.-\u2013\u2014")))
        if stripped == head:
            break
        head = stripped
    return head + _ELLIPSIS


def whole_graphemes(text: str, max_chars: int) -> str:
    """The longest prefix of ``text`` made of whole grapheme clusters and at most ``max_chars`` code points.

    Only the clusters up to the limit are scanned, so a long text costs no more than its head."""
    end = 0
    for match in _GRAPHEME.finditer(text):
        if match.end() > max_chars:
            break
        end = match.end()
    return text[:end]


def safe_url(url: str | None, base: str | None = None) -> str | None:
    """Return ``url`` as an absolute ``http``/``https`` URL, resolved against ``base``; otherwise None.

    None means the link must not be used: a ``javascript:``, ``data:``, ``file:`` or other scheme, a
    relative link with no usable base, no host, control characters, or a URL longer than the database
    holds. Spaces (common in image file names) are percent-encoded rather than refused.
    """
    if not url:
        return None
    candidate = url.strip()
    if not candidate or _CONTROL_IN_URL.search(candidate):
        return None
    if _SPACE.search(candidate):
        # Spaces of any kind (U+00A0, U+2009, ...) are percent-encoded too, so no URL carries raw whitespace.
        candidate = "".join(quote(c, safe="") if c.isspace() else c for c in candidate)
    if base:
        try:
            candidate = urljoin(base.strip(), candidate)
        except ValueError:
            return None
    try:
        parts = urlsplit(candidate)
        host = parts.hostname
    except ValueError:  # e.g. an invalid IPv6 literal or port
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    if len(candidate) > MAX_URL_LENGTH:
        return None
    return candidate
