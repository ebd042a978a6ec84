"""twitter-text's own conformance cases against distro's X counter (:mod:`distro.platforms.x`).

The cases are read at test time from ``../shared/data/twitter-text/`` beside the repository (twitter-text's
``conformance/validate.yml`` and ``config/v3.json``, Apache-2.0, licence beside them); they are not copied
into the project. Missing, the tests skip locally and fail under ``CI=true``.

X counts with the v3 configuration today (emoji sequences weigh 2), so the v3 groups
(``WeightedTweetsWithDiscountedEmojiCounterTest``, ``UnicodeDirectionalMarkerCounterTest``) must match
exactly, every field. Two groups are expected to differ, and the test pins by how much, so a change in
either direction is noticed:

- ``WeightedTweetsCounterTest`` is the v2 configuration (every emoji code point weighed on its own): its
  two emoji cases ("Count a mix of single byte single word, and double word unicode characters" and "Count
  unicode emoji chars outside the basic multilingual plane with skin tone modifiers") differ, because v3
  counts an emoji sequence as 2; the other 18 agree.
- ``tweets`` is the 140-character era's validity: its two "Invalid Tweet: 141 characters" cases are valid
  at 280.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from twitter_text import parse_tweet

from distro.platforms import x
from tests.conftest import ROOT, require

DATA = ROOT.parent / "shared" / "data" / "twitter-text"
V3_GROUPS = ("WeightedTweetsWithDiscountedEmojiCounterTest", "UnicodeDirectionalMarkerCounterTest")
EXPECTED_TO_DIFFER = {
    "WeightedTweetsCounterTest": 2,  # v2 weights: emoji sequences counted per code point
    "tweets": 2,  # 140 characters: "Invalid Tweet: 141 characters" (and with a newline) fit 280
}


def conformance() -> dict[str, list[dict[str, Any]]]:
    path = DATA / "validate.yml"
    if not path.is_file():
        require(str(DATA), "twitter-text's conformance cases (validate.yml) live in ../shared/data")
    tests: dict[str, list[dict[str, Any]]] = yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
    return tests


def counted(text: str, fields: list[str]) -> dict[str, Any]:
    """What distro's counter says for ``text``: length and validity from :mod:`distro.platforms.x`, the
    ranges and permillage from the parse it wraps."""
    parsed = parse_tweet(text).asdict()
    parsed.update(weightedLength=x.length(text), valid=x.is_valid(text))
    return {name: parsed[name] for name in fields}


def differing(group: str) -> list[str]:
    cases = conformance()[group]
    if group == "tweets":  # expected: a bool (valid or not)
        return [c["description"] for c in cases if x.is_valid(c["text"]) != c["expected"]]
    return [c["description"] for c in cases if counted(c["text"], list(c["expected"])) != c["expected"]]


def test_the_v3_configuration_is_x_s() -> None:
    path = DATA / "v3.json"
    if not path.is_file():
        require(str(DATA), "twitter-text's config/v3.json lives in ../shared/data")
    config = json.loads(path.read_text(encoding="utf-8"))
    assert (config["maxWeightedTweetLength"], config["transformedURLLength"]) == (x.LIMIT, 23)


@pytest.mark.parametrize("group", V3_GROUPS)
def test_v3_groups_match_exactly(group: str) -> None:
    cases = conformance()[group]
    assert cases
    for case in cases:
        assert counted(case["text"], list(case["expected"])) == case["expected"], case["description"]


@pytest.mark.parametrize(("group", "expected"), EXPECTED_TO_DIFFER.items())
def test_older_groups_differ_only_where_documented(group: str, expected: int) -> None:
    assert len(differing(group)) == expected, differing(group)
