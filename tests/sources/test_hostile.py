"""Hostile and broken input for every parser: no crash, nothing executed, a clear error at worst."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distro.errors import SourceError
from distro.sources.feed import parse_feed
from distro.sources.fetch import check_public_address
from distro.sources.page import parse_page
from distro.sources.webhook import WebhookRejected, parse_payload
from distro.sources.wordpress import parse_posts

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash_the_wordpress_parser(data: bytes) -> None:
    with contextlib.suppress(SourceError):
        parse_posts(data, source="wp")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
post_keys = st.sampled_from(["link", "title", "excerpt", "content", "date_gmt", "guid", "_embedded", "id"])


@FAST
@given(st.lists(st.dictionaries(post_keys, json_values, max_size=8), max_size=5))
def test_odd_wordpress_posts_give_safe_drafts_or_none(posts: list[dict[str, object]]) -> None:
    for draft in parse_posts(json.dumps(posts).encode(), source="wp"):
        assert draft.url.startswith(("http://", "https://"))


@FAST
@given(st.dictionaries(st.sampled_from(["url", "title", "summary", "published_at", "section"]), json_values))
def test_odd_webhook_bodies_are_stored_or_refused_with_400(body: dict[str, object]) -> None:
    try:
        drafts = parse_payload(json.dumps(body).encode())
    except WebhookRejected as exc:
        assert exc.status == 400
    else:
        assert all(d.url.startswith(("http://", "https://")) for d in drafts)


@FAST
@given(st.binary(max_size=3000))
def test_random_bytes_never_crash_the_page_parser(data: bytes) -> None:
    try:
        draft = parse_page(b"<html><head>" + data, url="https://a.example/x")
    except SourceError:
        return
    assert draft.url.startswith("https://")


@FAST
@given(
    st.text(max_size=200),
    st.sampled_from(["javascript:alert(1)", "data:text/html,x", "/rel", "https://x.y/"]),
)
def test_page_metadata_is_plain_text_and_safe_urls(title: str, link: str) -> None:
    page = (
        f'<html><head><meta property="og:title" content="{json.dumps(title)[1:-1]}">'
        f'<link rel="canonical" href="{link}"><meta property="og:image" content="{link}"></head></html>'
    )
    try:
        draft = parse_page(page.encode(), url="https://a.example/x")
    except SourceError:
        return
    assert "<" not in draft.title or "<" in title
    assert draft.url.startswith("https://") and (draft.image_url or "https://").startswith("https://")


def test_a_large_feed_is_read_whole_with_duplicate_guids_once() -> None:
    # 2,000 items keep the suite fast on a busy machine; bench/ingest.py ingests 10,000 end to end.
    count, distinct = 2000, 1800
    items = "".join(
        f"<item><title>Item {n} <script>x()</script></title><link>https://big.example/{n}</link>"
        f"<guid>g-{n % distinct}</guid></item>"
        for n in range(count)
    )
    data = f'<rss version="2.0"><channel><title>Big</title>{items}</channel></rss>'.encode()
    drafts = parse_feed(data, source="big")
    assert len(drafts) == distinct  # repeated GUIDs are kept once, the first wins
    assert drafts[0].title == "Item 0" and drafts[-1].url == f"https://big.example/{distinct - 1}"


def test_a_feed_in_the_wrong_declared_charset_is_still_read() -> None:
    data = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>C</title>'
    data += "<item><title>Caf\xe9 \xe0 Paris</title><link>https://c.example/1</link></item></channel></rss>"
    [draft] = parse_feed(
        data.encode("latin-1"), source="charset", content_type="text/xml; charset=iso-8859-1"
    )
    assert draft.title == "Caf\u00e9 \u00e0 Paris"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed",
        "http://localhost:8080/feed",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(url: str) -> None:
    with pytest.raises(SourceError, match="allow_private_addresses"):
        check_public_address(url, "sources.x")


def test_public_addresses_pass() -> None:
    check_public_address("http://93.184.215.14/feed")
