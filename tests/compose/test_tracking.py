"""Rewriting a digest's HTML part for tracking: which links change, into what, and where the pixel goes."""

from __future__ import annotations

from distro.compose.message import subscriber_slots
from distro.compose.tracking import Link, add_pixel, track_html, trackable

OWN = "https://news.example.org"


class Numbering:
    """A tracker that numbers links by URL, as the edition's link table does."""

    def __init__(self, pixel: str | None = None) -> None:
        self.seen: list[Link] = []
        self._pixel = pixel

    def href(self, link: Link) -> str | None:
        if link.url not in [s.url for s in self.seen]:
            self.seen.append(link)
        return f"{OWN}/r/{[s.url for s in self.seen].index(link.url) + 1}"

    def pixel(self) -> str | None:
        return self._pixel


def test_story_links_are_tracked_and_markers_mailto_and_own_pages_are_not() -> None:
    slots = subscriber_slots("html")
    story = "https://site.example/a?x=1&utm_source=newsletter"
    html = (
        "<html><body>"
        f'<a href="{story.replace("&", "&amp;")}" style="color:#111">A <b>story</b></a>'
        f'<a class="button" href="{story.replace("&", "&amp;")}">Read</a>'
        '<a href="https://site.example/">Visit   the site</a>'
        f'<a href="{slots.unsubscribe_url}">Unsubscribe</a>'
        f'<a href="{slots.preferences_url}">Choose sections</a>'
        '<a href="mailto:desk@site.example">Write to us</a>'
        f'<a href="{OWN}/archive/weekly-2026-W48">View in browser</a>'
        '<a href="#top">Top</a>'
        "</body></html>"
    )
    tracker = Numbering()
    out = track_html(html, tracker, own_url=OWN + "/", stories={story: ("A story", 7)})
    assert [link.url for link in tracker.seen] == [story, "https://site.example/"]
    assert tracker.seen[0] == Link(story, "A story", "A story", 7)  # the story names its article
    assert tracker.seen[1].text == "Visit the site" and tracker.seen[1].title is None
    assert out.count(f'href="{OWN}/r/1"') == 2 and f'href="{OWN}/r/2"' in out  # one number per URL
    for untouched in (
        slots.unsubscribe_url,
        slots.preferences_url,
        "mailto:desk@site.example",
        f"{OWN}/archive/weekly-2026-W48",
        "#top",
    ):
        assert f'href="{untouched}"' in out
    assert story.replace("&", "&amp;") not in out


def test_a_tracker_may_leave_a_link_direct() -> None:
    class Nothing:
        def href(self, link: Link) -> str | None:
            return None

        def pixel(self) -> str | None:
            return None

    html = '<body><a href="https://site.example/a">A</a></body>'
    assert track_html(html, Nothing(), own_url=OWN, stories={}) == html


def test_own_pages_are_matched_by_prefix_not_by_host_alone() -> None:
    assert not trackable(OWN, OWN)
    assert not trackable(f"{OWN}/subscribe", OWN)
    assert trackable(f"{OWN}0/page", OWN)  # another port is another site
    assert trackable("https://news.example.org.evil/page", OWN)
    assert not trackable("ftp://site.example/file", OWN)
    assert not trackable("%%DISTRO:html.unsubscribe_url%%", OWN)


def test_the_pixel_goes_at_the_end_of_the_body_and_is_escaped() -> None:
    html = track_html(
        "<html><body><p>Hi</p></body></html>",
        Numbering(pixel=f"{OWN}/o/t.gif?u=a&b"),
        own_url=OWN,
        stories={},
    )
    assert html.endswith(
        f'<p>Hi</p><img src="{OWN}/o/t.gif?u=a&amp;b" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0;" />\n</body></html>'
    )
    assert add_pixel("<p>no body</p>", "x").startswith('<p>no body</p><img src="x"')
