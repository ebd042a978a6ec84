"""The web copy of a stored digest: markers filled for nobody, e-mail-only blocks, scripts and Outlook's
comments gone, styles apart from the markup."""

from __future__ import annotations

import pytest

from distro.compose.archive import public_copy
from distro.compose.message import subscriber_slots

SIGNUP = "https://news.example/subscribe"


def stored(body: str) -> str:
    return (
        "<!doctype html><html><head><style>.a > b { color: red }</style></head>"
        f'<body style="background:#eee"><div style="display:none">preview line</div>{body}</body></html>'
    )


def test_personal_slots_are_filled_for_nobody() -> None:
    slots = subscriber_slots("html", greeting_fallback="dear reader")
    copy = public_copy(
        stored(
            f"<p>Hello {slots.greeting_name},</p><p>as {slots.email}.</p>"
            f'<a href="{slots.unsubscribe_url}">Unsubscribe</a>'
            f'<a href="{slots.preferences_url}">Sections</a>'
        ),
        signup=SIGNUP,
    )
    assert "Hello dear reader," in copy.body and "<p>as .</p>" in copy.body
    assert copy.body.count(f'href="{SIGNUP}"') == 2 and "%%DISTRO" not in copy.body


def test_email_only_blocks_scripts_comments_and_the_preview_line_are_left_out() -> None:
    copy = public_copy(
        stored(
            '<table><tr><td class="dm-muted dm-email-only">You are receiving this</td></tr></table>'
            "<!--[if mso]><table><![endif]--><p>Story</p><script>alert(1)</script>tail"
        ),
        signup=SIGNUP,
    )
    for gone in ("You are receiving", "mso", "<script", "alert", "preview line"):
        assert gone not in copy.body, gone
    assert "<p>Story</p>tail" in copy.body
    assert copy.body.startswith('<div style="background:#eee" class="digest">')


def test_styles_come_apart_and_cannot_close_their_element() -> None:
    copy = public_copy(
        stored("<style>p{}</style><style>a{content:'</style>'}</style><p>x</p>"), signup=SIGNUP
    )
    assert copy.styles[0] == ".a > b { color: red }" and "</style" not in "".join(copy.styles)
    assert "<style" not in copy.body


def test_a_damaged_marker_is_refused_and_nothing_is_nothing() -> None:
    with pytest.raises(ValueError):
        public_copy(stored("%%DISTRO:html.nosuch%%"), signup=SIGNUP)
    assert public_copy("", signup=SIGNUP).body == ""
