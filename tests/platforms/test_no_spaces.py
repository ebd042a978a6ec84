"""Text without word boundaries (CJK, runs of emoji) is cut between graphemes, never dropped (issue 18).

And the ellipsis never attaches to a link: a word holding a URL is neither cut nor given the ``…``."""

from __future__ import annotations

import pytest
import regex

from distro.compose.social import check_fits, fit
from distro.errors import InvalidInput
from distro.platforms import bluesky, mastodon, x
from distro.platforms.text import shorten, split_graphemes
from distro.settings import Settings

LINK = "https://meridian-review.example/world/2026/12/01/summit"
CJK = "東京で開かれた首脳会議では、各国の代表が安全保障について長時間にわたり議論した。" * 8
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"


def whole(text: str, of: str) -> bool:
    head = text.removesuffix("…")
    clusters = regex.findall(r"\X", of)
    return any(head == "".join(clusters[:k]) for k in range(1, len(clusters) + 1))


def test_a_cjk_title_is_cut_not_dropped_on_x() -> None:
    text = f"{CJK}\n\n{LINK} #Geopolitics"
    short = shorten(text, x.LIMIT, measure=x.length)
    title, _, rest = short.partition("\n\n")
    assert rest == f"{LINK} #Geopolitics" and x.length(short) <= x.LIMIT
    assert len(title) > 50 and whole(title, CJK)
    head = title.removesuffix("…")  # cut after CJK punctuation (a trailing comma dropped before the …)
    assert head.endswith("。") or CJK.startswith(head + "、")


def test_an_emoji_title_keeps_whole_emoji_on_mastodon() -> None:
    text = f"{FAMILY * 600} {LINK} #Family"
    short = shorten(text, 500, measure=mastodon.length)
    emoji, link, tag = short.split(" ")
    assert (link, tag) == (LINK, "#Family") and emoji.startswith(FAMILY) and whole(emoji, FAMILY * 600)


def test_an_x_thread_of_a_cjk_summary_carries_all_of_it() -> None:
    summary = "長い要約" * 75 + " end"  # 300 CJK characters, then a word
    parts = x.thread_parts(summary)
    assert len(parts) >= 3 and all(x.length(p) <= x.LIMIT for p in parts)
    assert "".join(parts).replace(" ", "") == summary.replace(" ", "")


def test_split_graphemes_never_splits_an_emoji() -> None:
    pieces = split_graphemes(FAMILY * 200, x.LIMIT, measure=x.length)
    assert "".join(pieces) == FAMILY * 200 and all(p == FAMILY * (len(p) // len(FAMILY)) for p in pieces)


def test_the_ellipsis_never_attaches_to_a_url() -> None:
    text = "Read " + "more words here " * 20 + "https://a.example/x. " + "tail " * 40
    short = shorten(text, 300, measure=bluesky.length)
    assert "https://a.example/x." in short and ".…" not in short and "x…" not in short
    for facet in bluesky.facets(short):
        uri = facet["features"][0].get("uri")
        assert uri is None or "…" not in uri


def test_the_composer_drops_and_an_edit_is_refused_for_x_invalid_characters() -> None:
    settings = Settings.model_construct()
    assert fit("x", "ABC\ufeffABC\uffff", settings) == "ABCABC"
    with pytest.raises(InvalidInput, match="x refuses the text: it holds characters X refuses"):
        check_fits("x", "ABC\ufeffABC", settings)


def test_a_url_cut_at_ingest_gives_no_facet_with_the_ellipsis() -> None:
    found = bluesky.facets("Read https://a.example/long-pa…")
    assert [f["features"][0]["uri"] for f in found] == ["https://a.example/long-pa"]
