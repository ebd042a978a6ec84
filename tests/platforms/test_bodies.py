"""Each platform's request body, built without a channel: the exact dict the file sink writes and the API
channel sends (key order included, since tweepy and Graph re-create it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from distro.platforms import bluesky, facebook, mastodon, x

WHEN = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
LINK = "https://meridian-review.example/2025/07/sanctions-explained/?utm_source=facebook"


@pytest.mark.parametrize(
    ("text", "reply_to", "expected"),
    [
        pytest.param("Hello", None, {"text": "Hello"}, id="text"),
        pytest.param(
            "Follow-up",
            "1850000000000000000",
            {"reply": {"in_reply_to_tweet_id": "1850000000000000000"}, "text": "Follow-up"},
            id="reply",
        ),
    ],
)
def test_x_body(text: str, reply_to: str | None, expected: dict[str, Any]) -> None:
    body = x.build_body(text, reply_to=reply_to)
    assert body == expected and list(body) == list(expected)


def test_x_thread_parts_split_at_words_within_the_weighted_limit() -> None:
    text = " ".join(f"word{n}" for n in range(150))
    parts = x.thread_parts(text)
    assert len(parts) > 2 and all(x.length(p) <= x.LIMIT for p in parts)
    assert " ".join(parts) == text
    assert x.thread_parts("Short.") == ("Short.",)


@pytest.mark.parametrize(
    ("message", "link", "expected"),
    [
        pytest.param("Read this", LINK, {"message": "Read this", "link": LINK}, id="with-link"),
        pytest.param("Just words", None, {"message": "Just words"}, id="without-link"),
    ],
)
def test_facebook_body(message: str, link: str | None, expected: dict[str, Any]) -> None:
    assert facebook.build_body(message, link) == expected


def test_facebook_photo_body_carries_the_caption_and_the_image() -> None:
    assert facebook.build_photo_body("Caption", "https://example.com/a.png") == {
        "caption": "Caption",
        "url": "https://example.com/a.png",
    }


def test_mastodon_body_names_visibility_and_language_only_when_set() -> None:
    assert mastodon.build_body("Hi") == {"status": "Hi", "visibility": "public"}
    assert mastodon.build_body("Hi", visibility="unlisted", language="en") == {
        "status": "Hi",
        "visibility": "unlisted",
        "language": "en",
    }


def test_bluesky_facets_are_utf8_byte_ranges_in_text_order() -> None:
    link = "https://meridian-review.example/a?utm_source=bluesky"
    text = f"#Brief Ünïcödé 🇺🇦 naïve — {link} #Security"
    record = bluesky.build_body(text, created_at=WHEN, language="en")
    encoded = text.encode("utf-8")
    spans = [encoded[f["index"]["byteStart"] : f["index"]["byteEnd"]] for f in record["facets"]]
    assert spans == [b"#Brief", link.encode(), b"#Security"]
    assert [f["features"][0]["$type"] for f in record["facets"]] == [
        "app.bsky.richtext.facet#tag",
        "app.bsky.richtext.facet#link",
        "app.bsky.richtext.facet#tag",
    ]
    assert record["$type"] == bluesky.RECORD_TYPE and record["langs"] == ["en"]
    assert record["createdAt"] == "2026-11-25T09:30:00.000Z"


def test_bluesky_record_without_links_or_language_has_no_facets_or_langs() -> None:
    record = bluesky.build_body("Plain words", created_at=WHEN)
    assert set(record) == {"$type", "text", "createdAt"}
