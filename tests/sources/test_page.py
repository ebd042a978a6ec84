"""Single article pages: JSON-LD NewsArticle, OpenGraph / article:* meta, readable-text fallback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from distro.errors import SourceError
from distro.settings import SourceSettings
from distro.sources import make_source
from distro.sources.feed import FeedSource
from distro.sources.page import parse_page
from tests.fakes.http_server import FakeHTTPServer, http_server

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Tag title | Site</title>
<meta property="og:title" content="OG title"><meta property="og:url" content="https://news.example/og-url">
<meta property="og:description" content="OG description &lt;b&gt;bold&lt;/b&gt;">
<meta property="og:image" content="/img/lead.jpg"><meta property="article:section" content="Security">
<meta property="article:published_time" content="2026-11-20T10:00:00+01:00">
<meta property="article:author" content="Ada">
<link rel="canonical" href="https://news.example/2026/11/story">
{ld}
</head><body onload="steal()"><article><h1>Headline</h1>
<p>First paragraph of the story, long enough to count as the readable text of the article body.</p>
<p>A second paragraph with <a href="javascript:alert(1)">a hostile link</a> and more words.</p>
</article><script>document.cookie</script></body></html>"""

LD = """<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
 {"@type": "WebPage", "name": "page"},
 {"@type": "NewsArticle", "headline": "LD headline <img src=x onerror=alert(1)>",
  "description": "LD description", "author": [{"@type": "Person", "name": "Bob"}, {"name": "Cy"}],
  "datePublished": "2026-11-19T09:00:00Z", "image": {"url": "https://cdn.news.example/ld.jpg"},
  "articleSection": "Economy"}]}</script>"""


def test_json_ld_wins_then_opengraph_and_the_canonical_url_is_the_identity() -> None:
    draft = parse_page(PAGE.format(ld=LD).encode(), url="https://news.example/2026/11/story?utm_source=x")
    assert draft.url == "https://news.example/2026/11/story"
    assert draft.guid is None
    assert draft.title == "LD headline"
    assert draft.summary == "LD description"
    assert draft.author == "Bob, Cy"
    assert draft.section == "Economy"
    assert draft.image_url == "https://cdn.news.example/ld.jpg"
    assert draft.published_at == datetime(2026, 11, 19, 9, 0, tzinfo=UTC)


def test_opengraph_when_there_is_no_json_ld() -> None:
    draft = parse_page(PAGE.format(ld="").encode(), url="https://news.example/x")
    assert (draft.title, draft.summary, draft.author, draft.section) == (
        "OG title",
        "OG description bold",
        "Ada",
        "Security",
    )
    assert draft.image_url == "https://news.example/img/lead.jpg"
    assert draft.published_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_a_bare_page_falls_back_to_its_title_and_readable_text() -> None:
    page = (
        "<html><head><title>Plain story</title></head><body><nav>Home | About</nav><article>"
        "<p>The readable text of a page that has no metadata at all, which happens on older sites.</p>"
        "<p>Another sentence so that the extractor is confident this is the main content.</p>"
        "</article><script>evil()</script></body></html>"
    )
    draft = parse_page(page.encode(), url="https://old.example/story.html")
    assert draft.url == "https://old.example/story.html"
    assert draft.title == "Plain story"
    assert draft.summary.startswith("The readable text of a page")
    assert "evil" not in draft.summary


def test_charset_from_the_http_header_beats_a_wrong_meta() -> None:
    page = '<html><head><meta charset="utf-8"><title>Caf\xe9 cr\xe8me</title></head><body></body></html>'
    draft = parse_page(
        page.encode("latin-1"), url="https://a.example/", content_type="text/html; charset=ISO-8859-1"
    )
    assert draft.title == "Caf\u00e9 cr\u00e8me"


def test_a_page_without_a_title_is_an_error() -> None:
    with pytest.raises(SourceError, match="has no title"):
        parse_page(b"<html><body></body></html>", url="https://a.example/")


@pytest.fixture
def server() -> Iterator[FakeHTTPServer]:
    with http_server() as running:
        yield running


def test_page_source_and_ad_hoc_url_read_the_page_over_http(server: FakeHTTPServer) -> None:
    server.route("/story", body=PAGE.format(ld=LD).encode(), headers={"Content-Type": "text/html"})
    config = SourceSettings(name="p", url=server.url("/story"), kind="page", allow_private_addresses=True)
    [draft] = make_source(config).fetch().drafts
    assert draft.title == "LD headline"
    as_feed = SourceSettings(name="p", url=server.url("/story"), allow_private_addresses=True)
    assert FeedSource(as_feed, accept_pages=True).fetch().drafts == [draft]
    with pytest.raises(SourceError, match="not"):  # a configured feed that turned into HTML is an error
        FeedSource(as_feed).fetch()
