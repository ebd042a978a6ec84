"""WordPress REST API source against a real loopback server: fields, embedded terms, pagination, 304."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from distro.errors import SourceError
from distro.settings import SourceSettings
from distro.sources import make_source
from distro.sources.wordpress import WordPressSource, api_url, parse_posts
from tests.fakes.http_server import FakeHTTPServer, RecordedRequest, Reply, http_server


@pytest.fixture
def server() -> Iterator[FakeHTTPServer]:
    with http_server() as running:
        yield running


def post(n: int, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": n,
        "guid": {"rendered": f"https://wp.example/?p={n}"},
        "link": f"https://wp.example/2026/11/post-{n}/",
        "date_gmt": f"2026-11-{10 + n:02d}T08:30:00",
        "title": {"rendered": f"Post {n} &#8211; <em>news</em>"},
        "excerpt": {"rendered": f"<p>Excerpt {n} <script>alert(1)</script>[&hellip;]</p>"},
        "content": {"rendered": f"<p>Body {n}</p>"},
        "_embedded": {
            "author": [{"name": "Ada Lovelace"}],
            "wp:featuredmedia": [{"source_url": f"https://wp.example/img/{n}.jpg"}],
            "wp:term": [
                [{"taxonomy": "category", "name": "Security"}, {"taxonomy": "category", "name": "Europe"}],
                [{"taxonomy": "post_tag", "name": "NATO"}],
            ],
        },
    }
    body.update(extra)
    return body


def wp(server: FakeHTTPServer, **overrides: Any) -> WordPressSource:
    config = SourceSettings(
        name="wp", url=server.url("/"), kind="wordpress", allow_private_addresses=True, **overrides
    )
    source = make_source(config)
    assert isinstance(source, WordPressSource)
    return source


def test_fields_come_from_the_post_and_its_embedded_objects() -> None:
    [draft] = parse_posts(json.dumps([post(1)]).encode(), source="wp")
    assert draft.url == "https://wp.example/2026/11/post-1/"
    assert draft.guid == "https://wp.example/?p=1"
    assert draft.title == "Post 1 \u2013 news"
    assert draft.summary == "Excerpt 1 [\u2026]"
    assert draft.author == "Ada Lovelace"
    assert draft.categories == ("Security", "Europe", "NATO")
    assert draft.section == "Security"
    assert draft.image_url == "https://wp.example/img/1.jpg"
    assert draft.published_at == datetime(2026, 11, 11, 8, 30, tzinfo=UTC)


def test_missing_embeds_and_hostile_links_are_handled() -> None:
    bare = {"id": 7, "link": "https://wp.example/p7", "title": {"rendered": "Bare"}}
    evil = post(2, link="javascript:alert(1)")
    drafts = parse_posts(json.dumps([bare, evil, "junk"]).encode(), source="wp")
    assert [(d.title, d.guid, d.author, d.image_url, d.section) for d in drafts] == [
        ("Bare", "wp-post:7", None, None, None)
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>not json</html>", "is not JSON"),
        (b'{"code": "rest_no_route", "message": "No route was found"}', "No route was found"),
    ],
)
def test_a_body_that_is_not_a_post_list_is_an_error(body: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse_posts(body, source="wp")


def test_api_url_accepts_the_site_or_the_endpoint() -> None:
    assert api_url("https://wp.example/") == "https://wp.example/wp-json/wp/v2/posts?_embed=1&per_page=50"
    assert api_url("https://wp.example/wp-json/wp/v2/posts?categories=3", 2) == (
        "https://wp.example/wp-json/wp/v2/posts?categories=3&_embed=1&per_page=50&page=2"
    )


def test_pages_are_followed_by_total_pages_and_by_link_next(server: FakeHTTPServer) -> None:
    def pages(request: RecordedRequest) -> Reply:
        page = 2 if "page=2" in request.path else 3 if "page=3" in request.path else 1
        headers = {"Content-Type": "application/json", "ETag": '"p1"'}
        if page == 1:
            headers["X-WP-TotalPages"] = "2"
        if page == 2:  # some proxies drop X-WP-* headers; Link rel=next is followed too
            headers["Link"] = f'<{server.url("/wp-json/wp/v2/posts")}?_embed=1&page=3>; rel="next"'
        return Reply(200, headers, json.dumps([post(page * 2 - 1), post(page * 2)]).encode())

    server.route("/wp-json/wp/v2/posts", handler=pages)
    result = wp(server).fetch()
    assert [d.url.rsplit("-", 1)[1] for d in result.drafts] == ["1/", "2/", "3/", "4/", "5/", "6/"]
    assert result.etag == '"p1"'
    assert all("_embed=1" in r.path for r in server.requests)


def test_unchanged_site_costs_one_conditional_request(server: FakeHTTPServer) -> None:
    def conditional(request: RecordedRequest) -> Reply:
        if request.header("If-None-Match") == '"v1"':
            return Reply(304)
        return Reply(200, {"ETag": '"v1"', "X-WP-TotalPages": "3"}, json.dumps([post(1)]).encode())

    server.route("/wp-json/wp/v2/posts", handler=conditional)
    source = wp(server, headers={"Authorization": "Bearer t0k"}, user_agent="MeridianBot/1")
    source.etag = '"v1"'
    result = source.fetch()
    assert result.not_modified and result.drafts == []
    [request] = server.requests
    assert request.header("Authorization") == "Bearer t0k"
    assert request.header("User-Agent") == "MeridianBot/1"
