"""Reading HTML fields without feedparser's sanitiser gives the drafts its sanitising parse gives.

The reference is ``parse_feed_document(..., sanitize_in_parser=True)``: feedparser's default parse, its
sanitiser and resolver run on every field, as every feed was read before the fast path. Fragments are
generated from the pieces real feeds are made of (WordPress summaries: paragraphs, links, images,
entities) and from hostile and broken ones, so both the simple path and the sanitised one are held to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distro.errors import SourceError
from distro.sources.feed import _drafts, parse_feed_document
from distro.sources.feed_html import Field, first_img_src, html_first_img_src, is_simple, parser_options

SITE = "https://fast.example"

SIMPLE_TAGS = [
    "p",
    "b",
    "i",
    "em",
    "strong",
    "a",
    "span",
    "div",
    "ul",
    "li",
    "blockquote",
    "h2",
    "pre",
    "figure",
]
OTHER_TAGS = ["script", "style", "applet", "svg", "math", "table", "td", "textarea", "title", "iframe"]
OTHER_TAGS += ["noscript", "main", "font", "object", "select", "P", "xmp", "template"]


def text(*, latin: bool) -> st.SearchStrategy[str]:
    """Text as feeds carry it. No C1 controls, and Latin-1 letters only with ``latin``: feedparser repairs
    both (UTF-8 read as Latin-1, C1 meant as cp1252) after its sanitiser, this path before it, and on
    markup that is not simple the two orders may differ (see distro.sources.feed_html)."""
    chars = st.characters(
        blacklist_categories=("Cs",), max_codepoint=0x2FFF, blacklist_characters="\x00<&\ufffe\uffff"
    ).filter(lambda char: not "\x80" <= char <= ("\xff" if not latin else "\x9f"))
    chars = chars.filter(lambda char: char in "\t\n" or not (char < " " or char == "\x7f"))
    return st.text(chars | st.sampled_from(list(" \t\n>\"'=/;#\u00a0\u2028")), min_size=1, max_size=12)


# UTF-8 read as Latin-1 ("Ã©" is "é"), which feedparser repairs: in simple markup the order makes no odds.
REPAIRED = st.sampled_from(["Ã©", "Ã¼", "â€™"])
SIMPLE_ENTITIES = st.sampled_from(
    ["&amp;", "&eacute;", "&#8217;", "&#150;", "&#x2019;", "&#X41;", "&nbsp;", "&apos;", "&hellip;", "&#0;"]
    + ["&#1114111;", "&lt;b&gt;", "&#39;", "&#34;", "& "]
)
ENTITIES = SIMPLE_ENTITIES | st.sampled_from(["&#1114112;", "&foo;", "&amp", "&", "&copy", "&NewLine;"])
SIMPLE_VALUES = ["/img/a.jpg", "https://cdn.example/b.png", "javascript:alert(1)", "c d.jpg", "?a=1&amp;b=2"]
SIMPLE_VALUES += ["data:image/png,AA", "//cdn.example/c.gif", " /img/pad.jpg ", "x'y", "a src=", "b src= c"]
VALUES = st.sampled_from(SIMPLE_VALUES + [" ", "", "?a=1&amp;copy;", "x&amp;#1;", "a&b", 'q"uote'])
NAMES = ["href", "class", "alt", "style", "onerror", "data-src", "srcset", "width"]


@st.composite
def attributes(draw: st.DrawFn, simple: bool) -> str:
    parts = []
    srcs = 0 if simple else 3
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(NAMES + ["src"] * (srcs > 0) + ([] if simple else ["SRC", "src "])))
        srcs -= name == "src"
        value = draw(st.sampled_from(SIMPLE_VALUES) if simple else VALUES)
        quote = '"' if simple else draw(st.sampled_from(['"', '"', "'", ""]))
        space = draw(st.sampled_from([" ", " ", "\n", "  "]))
        if value.strip() and '"' not in value or not simple:
            parts.append(f"{space}{name}={quote}{value}{quote}" if value or quote else f"{space}{name}")
    return "".join(parts)


@st.composite
def img(draw: st.DrawFn, simple: bool) -> str:
    before, after = draw(attributes(simple)), draw(attributes(simple))
    src = draw(st.sampled_from(SIMPLE_VALUES)) if simple else None
    middle = f' src="{src}"' if src and src.strip() and draw(st.booleans()) else ""
    return f"<img{before}{middle}{after}{draw(st.sampled_from(['>', '/>', ' />']))}"


@st.composite
def tags(draw: st.DrawFn, names: list[str], simple: bool) -> str:
    name = draw(st.sampled_from(names))
    kind = draw(st.sampled_from(["start", "start", "end", "img", "void"]))
    if kind == "end":
        return f"</{name}>"
    if kind == "img":
        return draw(img(simple))
    if kind == "void":
        odd = [] if simple else ["</br>", "</img>", "<p/>", "<img src>"]
        return draw(st.sampled_from(["<br>", "<br/>", "<br />", "<hr>", *odd]))
    return f"<{name}{draw(attributes(simple))}>"


ODD = st.sampled_from(["<!-- c -->", "<!x>", "<![CDATA[x]]>", "<?php x ?>", "<!--", "<", "<a", "</", "<3"])
SIMPLE_MARKUP = st.lists(
    text(latin=True) | REPAIRED | SIMPLE_ENTITIES | tags(SIMPLE_TAGS, simple=True), max_size=12
).map("".join)
ANY_MARKUP = st.lists(
    text(latin=False) | ENTITIES | tags(SIMPLE_TAGS + OTHER_TAGS, simple=False) | ODD, max_size=12
).map("".join)


def rss_feed(entries: list[tuple[str, str, str]]) -> bytes:
    items = "".join(
        f"<item><title>{escape(title)}</title><link>{SITE}/{n}</link><description>{escape(summary)}"
        f"</description><content:encoded>{escape(content)}</content:encoded></item>"
        for n, (title, summary, content) in enumerate(entries)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>F</title>'
        f"<link>{SITE}/</link>{items}</channel></rss>"
    ).encode()


def atom_feed(entries: list[tuple[str, str, str]], base: bool) -> bytes:
    xml_base = ' xml:base="https://base.example/dir/"' if base else ""
    items = "".join(
        f'<entry{xml_base if n % 2 else ""}><id>urn:{n}</id><link href="{SITE}/{n}"/>'
        f'<title type="html">{escape(title)}</title><summary type="html">{escape(summary)}</summary>'
        f"<content type={quoteattr('html' if n % 3 else 'xhtml')}>{escape(content)}</content></entry>"
        for n, (title, summary, content) in enumerate(entries)
    )
    return f'<feed xmlns="http://www.w3.org/2005/Atom"{xml_base}><title>F</title>{items}</feed>'.encode()


def both_ways(data: bytes) -> None:
    """The fast parse and the reference parse give the same drafts and links, or the same error."""
    results = []
    for reference in (False, True):
        try:
            results.append(parse_feed_document(data, source="f", sanitize_in_parser=reference))
        except SourceError as exc:
            results.append(str(exc))  # type: ignore[arg-type]
    assert results[0] == results[1]


FEW = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FEW
@given(st.lists(st.tuples(SIMPLE_MARKUP, SIMPLE_MARKUP, SIMPLE_MARKUP), min_size=1, max_size=4))
def test_simple_markup_reads_the_same_without_the_sanitiser(entries: list[tuple[str, str, str]]) -> None:
    assert all(is_simple(markup) for entry in entries for markup in entry)
    both_ways(rss_feed(entries))


@FEW
@given(st.lists(st.tuples(ANY_MARKUP, ANY_MARKUP, ANY_MARKUP), min_size=1, max_size=4))
def test_any_markup_reads_the_same_in_rss(entries: list[tuple[str, str, str]]) -> None:
    both_ways(rss_feed(entries))


@FEW
@given(st.lists(st.tuples(ANY_MARKUP, ANY_MARKUP, ANY_MARKUP), min_size=1, max_size=4), st.booleans())
def test_any_markup_reads_the_same_in_atom_with_or_without_a_base(
    entries: list[tuple[str, str, str]], base: bool
) -> None:
    both_ways(atom_feed(entries, base))


@FEW
@given(SIMPLE_MARKUP)
def test_the_first_image_of_simple_markup_is_the_one_html_parser_finds(markup: str) -> None:
    assert first_img_src(Field(markup, simple=True)) == html_first_img_src(markup)


WORDPRESS_SUMMARY = (
    "<p>Council approves the new budget&#8230; &#8220;It&#8217;s a start,&#8221; said the mayor.</p>\n"
    '<p>The post <a href="https://news.example/2026/11/budget/?utm_source=rss&amp;utm_medium=rss">Budget'
    '</a> appeared first on <a href="https://news.example">News</a>.</p>\n'
    '<img width="300" height="200" src="https://news.example/wp-content/uploads/b.jpg" '
    'class="attachment-medium" alt="" decoding="async" loading="lazy" />'
)


@pytest.mark.parametrize(
    ("markup", "simple"),
    [
        (WORDPRESS_SUMMARY, True),
        ("Plain words &amp; more", True),
        ('<p>One <b>bold</b> <img src="/a.jpg"> two</p>', True),
        ("<p>a</p><script>x()</script>", False),
        ('<img src="a" src="b">', False),  # which src? feedparser keeps the last, html.parser the first
        ('<img src=" ">', False),
        ("<!-- more -->", False),
        ("<table><tr><td>x</td></tr></table>", False),
        ("&foo;", False),
        ('<p style="x">', True),
        ("<P>", False),
    ],
)
def test_what_counts_as_simple(markup: str, simple: bool) -> None:
    assert is_simple(markup) is simple


def test_long_markup_that_is_not_simple_is_refused_without_backtracking() -> None:
    assert not is_simple("a" * 49_000 + "<script>")
    assert not is_simple("<p " + 'class="x" ' * 4000 + "<")


@pytest.mark.parametrize(
    ("data", "resolve"),
    [
        (b'<?xml version="1.0"?><rss><channel></channel></rss>', False),
        (b'\xef\xbb\xbf<rss><channel><item xml:base="https://b.example/">', True),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry BASE="x">', True),
        ("<rss>".encode("utf-16"), True),
        (b'<?xml version="1.0" encoding="utf-7"?><rss/>', True),
        (b"\x4c\x6f\xa7\x94\x93", True),  # EBCDIC "<?xml"
    ],
)
def test_the_resolver_stays_on_whenever_a_document_may_set_a_base(data: bytes, resolve: bool) -> None:
    assert parser_options(data, None) == {"sanitize_html": False, "resolve_relative_uris": resolve}


@pytest.mark.parametrize("content_type", ["text/xml; charset=UTF-7", "text/xml;charset=utf7"])
def test_the_resolver_stays_on_for_a_utf7_content_type(content_type: str) -> None:
    assert parser_options(b"<rss/>", content_type)["resolve_relative_uris"]
    assert not parser_options(b"<rss/>", "text/xml; charset=utf-8")["resolve_relative_uris"]


def test_a_wordpress_feed_takes_the_simple_path_and_reads_the_same() -> None:
    entries = [(f"Story {n} &amp; more", WORDPRESS_SUMMARY, "") for n in range(50)]
    both_ways(rss_feed(entries))
    drafts, _links = parse_feed_document(rss_feed(entries), source="f")
    assert drafts[0].image_url == "https://news.example/wp-content/uploads/b.jpg"
    assert drafts[0].summary.startswith("Council approves the new budget\u2026 \u201cIt\u2019s a start")


class Unreadable(Mapping[str, object]):
    """An entry whose fields cannot be read, as one that defeats the sanitiser read after the parse."""

    def __getitem__(self, key: str) -> object:
        raise RuntimeError("unreadable")

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def test_an_entry_that_cannot_be_read_is_skipped_and_the_others_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = {"link": f"{SITE}/good", "title": "Good"}
    drafts = list(_drafts([Unreadable(), good], SITE, "f", resolved=False, sanitized=False))
    assert [draft.url for draft in drafts] == [f"{SITE}/good"]
    assert "skipped an unreadable entry" in caplog.text
