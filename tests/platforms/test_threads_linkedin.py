"""Threads' and LinkedIn's pure rules: how each counts, what it refuses, and the exact bodies."""

from __future__ import annotations

import pytest

from distro.platforms import linkedin, threads

LINK = "https://meridian-review.example/2025/07/sanctions-explained/?utm_source=threads&utm_medium=social"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Sanctions, explained", 20, id="ascii"),
        pytest.param("日本語のニュース", 8, id="cjk-one-each"),
        pytest.param("e\u0301te\u0301", 3, id="combining-marks-one-grapheme"),
        pytest.param("😀", 4, id="emoji-as-utf8-bytes"),
        pytest.param("👨\u200d👩\u200d👧\u200d👦", 25, id="zwj-family-as-its-bytes"),
        pytest.param("🇺🇦", 8, id="flag-as-its-bytes"),
        pytest.param(LINK, len(LINK), id="urls-in-full"),
    ],
)
def test_threads_counts_graphemes_and_emoji_as_their_bytes(text: str, expected: int) -> None:
    assert threads.length(text) == expected


def test_threads_body_and_what_it_would_refuse() -> None:
    body = threads.build_body(f"Sanctions, explained\n\n{LINK}", LINK)
    assert body == {"media_type": "TEXT", "text": f"Sanctions, explained\n\n{LINK}", "link_attachment": LINK}
    assert threads.problem(body) is None
    assert threads.links(body["text"], LINK) == 1  # the same URL in the text and attached counts once
    assert threads.build_body("No link") == {"media_type": "TEXT", "text": "No link"}
    assert "limit is 500" in (threads.problem(threads.build_body("😀" * 126)) or "")  # 504 as bytes
    assert threads.problem(threads.build_body("😀" * 125)) is None  # exactly 500
    six = " ".join(f"https://a.example/{n}" for n in range(6))
    assert "more than 5 links" in (threads.problem(threads.build_body(six)) or "")
    five = " ".join(f"https://a.example/{n}" for n in range(5))
    assert "more than 5" in (threads.problem(threads.build_body(five, "https://b.example/")) or "")
    assert threads.problem({"media_type": "TEXT", "text": " "}) == "the text is empty"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        pytest.param("Plain words.", "Plain words.", id="nothing-reserved"),
        pytest.param("Iran (again)", "Iran \\(again\\)", id="parentheses"),
        pytest.param(
            "\\ | { } @ [ ] ( ) < > # * _ ~",
            "\\\\ \\| \\{ \\} \\@ \\[ \\] \\( \\) \\< \\> \\# \\* \\_ \\~",
            id="all",
        ),
        pytest.param("C# and #Security", "C\\# and #Security", id="hashtags-stay-hashtags"),
        pytest.param("press@desk.example", "press\\@desk.example", id="no-accidental-mention"),
        pytest.param(f"Read {LINK} now_", f"Read {LINK} now\\_", id="urls-stay-links"),
    ],
)
def test_linkedin_little_text_escapes_reserved_characters(text: str, escaped: str) -> None:
    assert linkedin.escape(text) == escaped
    assert linkedin.unescape(escaped) == text
    assert linkedin.length(text) == len(escaped)


def test_linkedin_body_is_an_organisation_post_with_an_article_card() -> None:
    body = linkedin.build_body(
        "Sanctions (explained)", organization_id="2414183", link=LINK, title="Sanctions", description="Why."
    )
    assert body == {
        "author": "urn:li:organization:2414183",
        "commentary": "Sanctions \\(explained\\)",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "content": {"article": {"source": LINK, "title": "Sanctions", "description": "Why."}},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    edited = linkedin.with_text(body, "New [text]")
    assert edited["commentary"] == "New \\[text\\]" and edited["content"] == body["content"]
    assert linkedin.text_of(edited) == "New [text]" and linkedin.link_of(edited) == LINK
    assert "content" not in linkedin.build_body("No card", organization_id="1", link=None)
