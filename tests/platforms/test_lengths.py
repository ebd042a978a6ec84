"""Length as each platform counts it (X's twitter-text v3 weighting, Mastodon's 23 per URL, Bluesky's
graphemes), and shortening that keeps links and hashtags whole.

The table pins X's documented rules so an upgrade of the counting library that changed them would fail."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet

from distro.platforms import bluesky, mastodon, x
from distro.platforms.text import shorten


def shorten_for_x(text: str) -> str:
    return shorten(text, x.LIMIT, measure=x.length)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("", 0),
        ("Ünïcödé façade", 14),
        ("日本語のテキスト", 16),
        ("한국어", 6),
        ("https://t.co", 23),
        ("https://example.com/" + "a" * 300, 23),
        ("see https://example.com/a?b=c#d.", 4 + 23 + 1),
        ("👍", 2),
        ("👍🏽", 2),
        ("👩‍👩‍👧‍👦", 2),
        ("🇬🇧🇫🇷", 4),
        ("1️⃣", 2),
        ("❤️", 2),
        ("e\u0301", 1),  # NFC folds e + combining acute into é
        ("a\u0308\u0301", 2),  # ä + combining acute: two code points after NFC
        ("“quotes” – dash…", 17),  # U+2026 lies outside the light ranges
        ("read example.com now", 5 + 23 + 4),  # a bare domain with a real TLD is a URL to X
        ("https://meridian-review.example/x", 33),  # .example is no TLD: not a URL, counted in full
    ],
)
def test_weighted_length(text: str, expected: int) -> None:
    assert x.length(text) == expected


def test_exactly_280_fits_and_281_is_shortened() -> None:
    exact = "a" * 280
    assert x.length(exact) == 280 and shorten_for_x(exact) == exact
    words = ("word " * 56).strip() + "s"  # 280 characters
    assert x.length(words) == 280
    longer = words + "!"
    short = shorten_for_x(longer)
    assert x.length(short) <= x.LIMIT and short.endswith("…")


def test_shorten_keeps_url_hashtags_and_emoji_whole() -> None:
    url = "https://meridian-review.example/2026/11/a-very-long-article-slug-that-goes-on?utm_source=x"
    text = "Ports 🚢 " + "and shipping lanes " * 30 + f"\n\n{url} #Security #Economy"
    short = shorten_for_x(text)
    assert x.length(short) <= x.LIMIT
    assert short.endswith(f"{url} #Security #Economy")
    assert "🚢" in short
    assert "…" in short
    short.encode("utf-8")  # no lone surrogates


def test_cjk_text_is_cut_to_the_weighted_limit() -> None:
    text = " ".join(["東京"] * 100)
    short = shorten_for_x(text)
    assert x.length(short) <= x.LIMIT
    assert x.length(short) > x.LIMIT - 10


def test_unshortenable_text_is_an_error() -> None:
    with pytest.raises(ValueError):
        shorten_for_x(" ".join(f"#tag{i}" for i in range(60)))


_PIECES = st.sampled_from(
    [
        "word",
        " ",
        "\n",
        "東京",
        "é",
        "e\u0301",
        "👍",
        "👍🏽",
        "👩\u200d👩\u200d👧",
        "🇬🇧",
        "#tag",
        "—",
        "…",
        "https://www.meridian-review.com/2026/11/a-long-slug?utm_source=x",
        "(",
        ")",
        ".",
        ",",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=200).map("".join))
def test_shortened_text_is_accepted_by_twitter_text(text: str) -> None:
    try:
        short = shorten_for_x(text + " https://www.meridian-review.com/x")
    except ValueError:
        return
    assert parse_tweet(short).weightedLength <= x.LIMIT
    assert "https://www.meridian-review.com/x" in short


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("界" * 140, 280),  # CJK weighs 2: exactly the limit
        ("界" * 140 + "a", 281),  # one over
        ("a" * 256 + " https://example.com/" + "p" * 80, 280),  # the URL is 23 whatever its length
        ("a" * 257 + " https://example.com/", 281),
        ("👩🏽‍💻", 2),  # ZWJ sequence with a skin-tone modifier: one emoji
        ("👨‍❤️‍💋‍👨", 2),
        ("שָׁלוֹם", 7),  # Hebrew with combining points: each code point counts (no precomposed form)
        ("o\u0308\u0332", 2),  # ö (NFC) + combining low line
    ],
)
def test_weighted_length_edges(text: str, expected: int) -> None:
    assert x.length(text) == expected
    assert (x.length(text) <= x.LIMIT) == (expected <= x.LIMIT)


@pytest.mark.parametrize(
    ("text", "masto", "graphemes_"),
    [
        ("hello", 5, 5),
        ("see https://example.com/" + "a" * 100, 4 + 23, 4 + 120),
        ("👩‍👩‍👧‍👦 e\u0301", 3, 3),  # Mastodon counts graphemes too (mb_chars.grapheme_length)
        ("🇬🇧🇫🇷", 2, 2),
        ("see https://" + "a" * 450, 4 + 458, 4 + 458),  # no TLD: not a URL to Mastodon, counted in full
        ("see https://meridian.example/a", 30, 30),  # .example is no TLD twitter-text knows
        ("hi @editor@meridian-review.com", 10, 30),  # a mention counts without its domain
    ],
)
def test_mastodon_and_bluesky_counts(text: str, masto: int, graphemes_: int) -> None:
    assert mastodon.length(text) == masto and bluesky.length(text) == graphemes_


def test_bluesky_counts_bytes_too() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 1 grapheme, 25 bytes
    assert bluesky.length(family * 120) == 120  # 3,000 bytes: fits
    assert bluesky.length(family * 121) == bluesky.LIMIT + 1  # 121 graphemes but 3,025 bytes
    short = shorten(family * 231, bluesky.LIMIT, measure=bluesky.length)
    assert len(short.encode()) <= bluesky.MAX_BYTES and short.startswith(family)


def test_x_invalid_characters_make_a_post_invalid_not_fitting() -> None:
    text = "ABC\u202a\uffffABC\ufffe"  # twitter-text's own conformance case
    assert not x.is_valid(text) and "U+FFFE, U+FFFF" in x.refusal(text)
    assert x.is_valid("ABC\u202aABC") and x.refusal("fine") == ""
    assert x.without_invalid(text) == "ABC\u202aABC"
