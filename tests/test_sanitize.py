"""to_plain_text and safe_url: the two doors every piece of outside text and every link passes through."""

from __future__ import annotations

import html
import re
from urllib.parse import quote, urljoin, urlsplit

import nh3
import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from distro.sanitize import _CONTROL_IN_URL, _SPACE, MAX_URL_LENGTH, safe_url, to_plain_text, truncate


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("Plain words", "Plain words"),
        ("<p>One</p><p>Two</p>", "One Two"),
        ("Line<br>break<br/>again", "Line break again"),
        ("un<em>believ</em>able", "unbelievable"),
        ("<ul><li>a</li><li>b</li></ul>", "a b"),
        ("Fish &amp; chips &#8212; &eacute;t&eacute; &nbsp;", "Fish & chips \u2014 \u00e9t\u00e9"),
        ("x < y and y > z", "x < y and y > z"),
        ("  lots \n\t of   space  ", "lots of space"),
        ("<script>alert('x')</script>safe", "safe"),
        ("<style>p { color: red }</style>styled", "styled"),
        ('<img src="x" onerror="alert(1)">after', "after"),
        ('<a href="javascript:alert(1)">click</a>', "click"),
        ("<!-- hidden comment -->shown", "shown"),
        ("<![CDATA[odd]]>text", "text"),
        ("null\x00byte and bell\x07", "nullbyte and bell"),
        ("lone \ud800 surrogate", "lone ? surrogate"),
        ("&lt;b&gt;literal&lt;/b&gt;", "<b>literal</b>"),  # escaped markup is text: it stays text
        ("", ""),
    ],
)
def test_to_plain_text(markup: str, expected: str) -> None:
    assert to_plain_text(markup) == expected


def test_to_plain_text_cuts_at_a_word_boundary() -> None:
    text = "The quick brown fox jumps over the lazy dog"
    assert to_plain_text(f"<p>{text}</p>", max_chars=20) == "The quick brown fox\u2026"
    assert to_plain_text(text, max_chars=len(text)) == text


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("averyveryverylongword", 8, "averyve\u2026"),
        ("Sentence ends here. Next one", 21, "Sentence ends here\u2026"),
        ("anything", 0, ""),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("ABC\u202a\uffffABC\ufffe", "ABCABC"),
        ("\ufeffTitle\u200b with\u200e\u200f marks", "Title with marks"),
        ("<p>\u2066isolated\u2069 \u202eevil\u202c</p>", "isolated evil"),
        ("\U0001f468\u200d\U0001f469 \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", None),  # kept
    ],
)
def test_invisible_and_bidi_controls_are_removed(markup: str, expected: str | None) -> None:
    assert to_plain_text(markup) == (markup if expected is None else expected)


FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one grapheme of five code points
FLAG = "\U0001f1eb\U0001f1f7"  # two regional indicators, one flag


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        (FAMILY * 3, 9, FAMILY + "\u2026"),  # never "👨\u200d…"
        (FLAG * 300, 500, FLAG * 249 + "\u2026"),  # never a lone regional indicator
        ("e\u0301" * 10, 6, "e\u0301" * 2 + "\u2026"),  # a letter keeps its combining accent
        ("Zwei " + FAMILY + FAMILY, 10, "Zwei\u2026"),
    ],
)
def test_truncate_never_splits_a_grapheme(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


GRAPHEME_TEXT = st.lists(
    st.sampled_from([FAMILY, FLAG, "\U0001f1eb", "e\u0301", "\u200d", " ", "-", ".", "a", "\u0600", "界"])
    | st.characters(codec="utf-8"),
    max_size=40,
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(GRAPHEME_TEXT, st.integers(min_value=0, max_value=60))
def test_truncate_keeps_a_prefix_of_whole_graphemes(text: str, limit: int) -> None:
    result = truncate(text, limit)
    assert len(result) <= limit
    if result == text:
        return
    head = result.removesuffix("\u2026")
    clusters = regex.findall(r"\X", text)
    prefixes = {"".join(clusters[:k]) for k in range(len(clusters) + 1)}
    assert head in prefixes


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://meridian-review.example/a", None, "https://meridian-review.example/a"),
        ("  http://x.example/p?q=1#f  ", None, "http://x.example/p?q=1#f"),
        ("HTTPS://X.example/", None, "HTTPS://X.example/"),
        ("/2026/11/a/", "https://site.example/blog/", "https://site.example/2026/11/a/"),
        ("b", "https://site.example/blog/", "https://site.example/blog/b"),
        ("//cdn.example/i.jpg", "https://site.example/", "https://cdn.example/i.jpg"),
        ("https://other.example/x", "https://site.example/", "https://other.example/x"),
        ("/uploads/my image.jpg", "https://site.example/", "https://site.example/uploads/my%20image.jpg"),
        ("/relative", None, None),
        ("javascript:alert(1)", None, None),
        ("JaVaScRiPt:alert(1)", "https://site.example/", None),
        ("java\tscript:alert(1)", "https://site.example/", None),
        ("data:text/html;base64,PHNjcmlwdD4=", None, None),
        ("vbscript:msgbox", None, None),
        ("file:///etc/passwd", None, None),
        ("ftp://files.example/x", None, None),
        ("mailto:desk@example.org", None, None),
        ("https://", None, None),
        ("http://[::1", None, None),
        ("https://ok.example/\x00", None, None),
        ("", "https://site.example/", None),
        (None, "https://site.example/", None),
        ("/a", "javascript:alert(1)//", None),
    ],
)
def test_safe_url(url: str | None, base: str | None, expected: str | None) -> None:
    assert safe_url(url, base) == expected


def test_safe_url_refuses_urls_longer_than_the_column() -> None:
    assert safe_url("https://x.example/" + "a" * MAX_URL_LENGTH) is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.one_of(st.none(), st.integers(min_value=0, max_value=50)))
def test_to_plain_text_properties(markup: str, limit: int | None) -> None:
    text = to_plain_text(markup, limit)
    assert text == " ".join(text.split())
    assert not any(ord(char) < 32 for char in text)
    if limit is not None:
        assert len(text) <= limit


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=100), st.one_of(st.none(), st.sampled_from(["https://site.example/a/", "x:"])))
def test_safe_url_only_returns_http_urls(url: str, base: str | None) -> None:
    result = safe_url(url, base)
    assert result is None or result.lower().startswith(("http://", "https://"))


# --- the fast paths give what the slow paths give ---------------------------------------------------

# Text as feeds carry it: any code point (lone surrogates included), plus the characters that matter to
# an HTML parser, so hypothesis tries "&" before spaces, digits and letters, NULs, CRs, non-breaking spaces,
# and tags, block and inline, whole and cut.
ANY_TEXT = st.text(
    st.characters(codec=None)
    | st.sampled_from(list("&#;<>\"' \t\r\n\x00\x0c\x85\xa0\u2028\ufeff\ud800aZ9/")),
    max_size=80,
)
MARKUP = st.lists(
    ANY_TEXT
    | st.sampled_from(
        ["<p>", "</P>", "<br/>", "<pre ", "<li", "<td>", "<em>", "<script>", "</style>", "<!--"]
    ),
    max_size=8,
).map("".join)


BLOCK_TAG = re.compile(
    r"<(/?)(address|article|aside|blockquote|br|dd|div|dl|dt|figcaption|figure|footer|h[1-6]|header|hr|"
    r"li|main|nav|ol|p|pre|section|table|tbody|td|tfoot|th|thead|tr|ul)\b",
    re.IGNORECASE,
)


# C0/C1 controls, and the invisible and bidi controls (ZWJ and ZWNJ kept), as to_plain_text drops them.
INVISIBLE = re.compile(
    r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]"
)


def slow_plain_text(markup: str, max_chars: int | None = None) -> str:
    """to_plain_text as it was before its fast paths, verbatim: every string through nh3."""
    markup = markup.encode("utf-8", "replace").decode("utf-8")
    spaced = BLOCK_TAG.sub(r" <\1\2", markup)
    cleaned = nh3.clean(spaced, tags=set(), clean_content_tags={"script", "style"}, strip_comments=True)
    text = " ".join(INVISIBLE.sub("", html.unescape(cleaned)).split())
    return truncate(text, max_chars) if max_chars is not None else text


@settings(max_examples=1500, deadline=None)
@given(ANY_TEXT | MARKUP, st.one_of(st.none(), st.integers(min_value=0, max_value=40)))
def test_to_plain_text_is_byte_identical_to_its_slow_path(markup: str, limit: int | None) -> None:
    assert to_plain_text(markup, limit) == slow_plain_text(markup, limit)


@pytest.mark.parametrize(
    "text", ["Tom & Jerry", "a &", "x > y", "caf\u00e9 \u00a0 \ufeff", "nul\x00l", "\r\n"]
)
def test_to_plain_text_fast_path_examples(text: str) -> None:
    assert to_plain_text(text) == slow_plain_text(text)


def slow_safe_url(url: str | None, base: str | None = None) -> str | None:
    """safe_url as it was before its fast path (a character-by-character scan of every URL)."""
    if not url:
        return None
    candidate = url.strip()
    control = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
    if not candidate or control.search(candidate) or any(c in candidate for c in "\t\r\n"):
        return None
    candidate = "".join(quote(c, safe="") if c.isspace() else c for c in candidate)
    if base:
        try:
            candidate = urljoin(base.strip(), candidate)
        except ValueError:
            return None
    try:
        parts = urlsplit(candidate)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or len(candidate) > MAX_URL_LENGTH:
        return None
    return candidate


def test_url_character_classes_match_str_methods_for_every_code_point() -> None:
    for point in range(0x110000):
        char = chr(point)
        assert bool(_SPACE.match(char)) == char.isspace(), hex(point)
        refused = bool(re.match(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]", char)) or char in "\t\r\n"
        assert bool(_CONTROL_IN_URL.match(char)) == refused, hex(point)


URL_TEXT = st.one_of(
    ANY_TEXT,
    st.tuples(
        st.sampled_from(["https://a.example/", "http://b.example", "/p", "//c.example/", ""]), ANY_TEXT
    ).map("".join),
)


@settings(max_examples=1500, deadline=None)
@given(
    URL_TEXT, st.one_of(st.none(), st.sampled_from(["https://site.example/a/", " https://s.example ", "x:"]))
)
def test_safe_url_fast_path_is_identical_to_the_character_scan(url: str, base: str | None) -> None:
    assert safe_url(url, base) == slow_safe_url(url, base)
