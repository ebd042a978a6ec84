"""to_plain_text and safe_url: the two doors every piece of outside text and every link passes through."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distro.sanitize import MAX_URL_LENGTH, safe_url, to_plain_text, truncate


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("Plain words", "Plain words"),
        ("<p>One</p><p>Two</p>", "One Two"),
        ("Line<br>break<br/>again", "Line break again"),
        ("un<em>believ</em>able", "unbelievable"),
        ("<ul><li>a</li><li>b</li></ul>", "a b"),
        ("Fish &amp; chips &#8212; &eacute;t&eacute; &nbsp;", "Fish & chips \u2014 \u00e9t\u00e9"),
        ("x < y and y > z", "x < y and y > z"),
        ("  lots \n\t of   space  ", "lots of space"),
        ("<script>alert('x')</script>safe", "safe"),
        ("<style>p { color: red }</style>styled", "styled"),
        ('<img src="x" onerror="alert(1)">after', "after"),
        ('<a href="javascript:alert(1)">click</a>', "click"),
        ("<!-- hidden comment -->shown", "shown"),
        ("<![CDATA[odd]]>text", "text"),
        ("null\x00byte and bell\x07", "nullbyte and bell"),
        ("lone \ud800 surrogate", "lone ? surrogate"),
        ("&lt;b&gt;literal&lt;/b&gt;", "<b>literal</b>"),  # escaped markup is text: it stays text
        ("", ""),
    ],
)
def test_to_plain_text(markup: str, expected: str) -> None:
    assert to_plain_text(markup) == expected


def test_to_plain_text_cuts_at_a_word_boundary() -> None:
    text = "The quick brown fox jumps over the lazy dog"
    assert to_plain_text(f"<p>{text}</p>", max_chars=20) == "The quick brown fox\u2026"
    assert to_plain_text(text, max_chars=len(text)) == text


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("averyveryverylongword", 8, "averyve\u2026"),
        ("Sentence ends here. Next one", 21, "Sentence ends here\u2026"),
        ("anything", 0, ""),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://meridian-review.example/a", None, "https://meridian-review.example/a"),
        ("  http://x.example/p?q=1#f  ", None, "http://x.example/p?q=1#f"),
        ("HTTPS://X.example/", None, "HTTPS://X.example/"),
        ("/2026/11/a/", "https://site.example/blog/", "https://site.example/2026/11/a/"),
        ("b", "https://site.example/blog/", "https://site.example/blog/b"),
        ("//cdn.example/i.jpg", "https://site.example/", "https://cdn.example/i.jpg"),
        ("https://other.example/x", "https://site.example/", "https://other.example/x"),
        ("/uploads/my image.jpg", "https://site.example/", "https://site.example/uploads/my%20image.jpg"),
        ("/relative", None, None),
        ("javascript:alert(1)", None, None),
        ("JaVaScRiPt:alert(1)", "https://site.example/", None),
        ("java\tscript:alert(1)", "https://site.example/", None),
        ("data:text/html;base64,PHNjcmlwdD4=", None, None),
        ("vbscript:msgbox", None, None),
        ("file:///etc/passwd", None, None),
        ("ftp://files.example/x", None, None),
        ("mailto:desk@example.org", None, None),
        ("https://", None, None),
        ("http://[::1", None, None),
        ("https://ok.example/\x00", None, None),
        ("", "https://site.example/", None),
        (None, "https://site.example/", None),
        ("/a", "javascript:alert(1)//", None),
    ],
)
def test_safe_url(url: str | None, base: str | None, expected: str | None) -> None:
    assert safe_url(url, base) == expected


def test_safe_url_refuses_urls_longer_than_the_column() -> None:
    assert safe_url("https://x.example/" + "a" * MAX_URL_LENGTH) is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.one_of(st.none(), st.integers(min_value=0, max_value=50)))
def test_to_plain_text_properties(markup: str, limit: int | None) -> None:
    text = to_plain_text(markup, limit)
    assert text == " ".join(text.split())
    assert not any(ord(char) < 32 for char in text)
    if limit is not None:
        assert len(text) <= limit


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=100), st.one_of(st.none(), st.sampled_from(["https://site.example/a/", "x:"])))
def test_safe_url_only_returns_http_urls(url: str, base: str | None) -> None:
    result = safe_url(url, base)
    assert result is None or result.lower().startswith(("http://", "https://"))
