"""Reading time comes from the whole article (content:encoded, WordPress content, the page), not the
teaser; the lead picture's alt from the source's own description of it (WordPress alt_text, og:image:alt).
"""

from __future__ import annotations

from datetime import UTC, datetime

from distro.compose.digest import Story
from distro.sources.base import count_words
from distro.sources.feed import parse_feed_document
from distro.sources.page import parse_page
from distro.sources.wordpress import post_to_draft
from tests.compose.test_digest import compose, sample_articles

WORDS = " ".join(["word"] * 1150)  # five minutes at 230 words a minute
FEED = f"""<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>t</title><link>https://news.example/</link>
<item><title>Full</title><link>https://news.example/full</link><description>A short teaser.</description>
<content:encoded><![CDATA[<p>{WORDS}</p><script>not words at all</script>]]></content:encoded></item>
<item><title>Teaser</title><link>https://news.example/teaser</link>
<description>Only a teaser.</description></item>
</channel></rss>""".encode()


def test_feed_words_come_from_content_encoded_and_a_teaser_feed_says_unknown() -> None:
    drafts, _ = parse_feed_document(FEED, source="t")
    assert [d.word_count for d in drafts] == [1150, None]
    assert drafts[0].summary == "A short teaser."


def test_wordpress_words_from_the_content_and_alt_from_the_featured_media() -> None:
    draft = post_to_draft(
        {
            "link": "https://wp.example/p",
            "title": {"rendered": "P"},
            "excerpt": {"rendered": "<p>Teaser.</p>"},
            "content": {"rendered": f"<p>{WORDS}</p>"},
            "_embedded": {
                "wp:featuredmedia": [{"source_url": "https://wp.example/i.jpg", "alt_text": "Cranes"}]
            },
        }
    )
    assert draft is not None and (draft.word_count, draft.image_alt) == (1150, "Cranes")


def test_a_page_counts_its_article_text_and_reads_og_image_alt() -> None:
    page = f"""<html><head><title>T</title><meta property="og:title" content="Ports">
    <meta property="og:description" content="Teaser."><meta property="og:image" content="https://p.example/i.jpg">
    <meta property="og:image:alt" content="Container ship at dusk"></head>
    <body><article><h1>Ports</h1><p>{WORDS}</p></article></body></html>""".encode()
    draft = parse_page(page, url="https://p.example/ports")
    assert draft.image_alt == "Container ship at dusk"
    assert draft.word_count is not None and draft.word_count >= 1150


def test_a_story_reads_in_the_articles_minutes_else_the_teasers() -> None:
    when = datetime(2026, 11, 23, tzinfo=UTC)
    story = Story("T", "https://x.example", "Teaser.", None, None, None, when, word_count=1150)
    assert story.read_minutes == 5
    assert Story("T", "https://x.example", "Teaser.", None, None, None, when).read_minutes == 1
    assert count_words("<p>a &amp; b</p><style>x y</style>") == 3


def test_a_media_rss_image_description_becomes_the_alt_and_not_the_teaser() -> None:
    feed = b"""<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
    <channel><title>t</title><link>https://news.example/</link>
    <item><title>A</title><link>https://news.example/a</link><description>The teaser.</description>
    <media:content url="https://news.example/a.jpg" medium="image">
    <media:description>Dock cranes at dawn &amp; fog</media:description></media:content></item>
    <item><title>B</title><link>https://news.example/b</link><description>No picture text.</description>
    <media:content url="https://news.example/b.jpg" medium="image"/></item>
    </channel></rss>"""
    drafts, _ = parse_feed_document(feed, source="t")
    assert [(d.summary, d.image_alt) for d in drafts] == [
        ("The teaser.", "Dock cranes at dawn & fog"),
        ("No picture text.", None),
    ]


def test_the_lead_picture_carries_its_description_and_stays_a_link() -> None:
    articles = sample_articles()
    for article in articles:
        article.image_alt, article.word_count = "Dock cranes at dawn", 1150
    html = compose(articles=articles).html
    assert 'alt="Dock cranes at dawn"' in html and 'aria-hidden="true"' not in html
    assert html.count("5 min read") == len(articles)
