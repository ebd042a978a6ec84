from __future__ import annotations

import pytest

from distro.compose.links import add_utm

TAGS = "utm_source=newsletter&utm_medium=email&utm_campaign=weekly-2025-03-10"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://news.example/a", f"https://news.example/a?{TAGS}"),
        ("https://news.example/a?id=7&x=a%20b", f"https://news.example/a?id=7&x=a%20b&{TAGS}"),
        ("https://news.example/a#comments", f"https://news.example/a?{TAGS}#comments"),
        ("https://news.example/a?id=7#top", f"https://news.example/a?id=7&{TAGS}#top"),
        ("https://news.example/a?", f"https://news.example/a?{TAGS}"),
        ("https://news.example/a?id=7&", f"https://news.example/a?id=7&{TAGS}"),
        (
            "https://news.example/a?utm_source=x&b=2",
            "https://news.example/a?utm_source=x&b=2&utm_medium=email&utm_campaign=weekly-2025-03-10",
        ),
        (
            "https://news.example/a?utm_source=x&utm_medium=y&utm_campaign=z",
            "https://news.example/a?utm_source=x&utm_medium=y&utm_campaign=z",
        ),
        ("HTTP://News.Example/a", f"http://News.Example/a?{TAGS}"),
        ("mailto:desk@news.example", "mailto:desk@news.example"),
        ("/relative/path", "/relative/path"),
    ],
)
def test_add_utm(url: str, expected: str) -> None:
    assert add_utm(url, source="newsletter", medium="email", campaign="weekly-2025-03-10") == expected


def test_add_utm_encodes_campaign_values() -> None:
    tagged = add_utm("https://news.example/", source="news letter", medium="email", campaign="a&b=c")
    assert tagged == "https://news.example/?utm_source=news%20letter&utm_medium=email&utm_campaign=a%26b%3Dc"
