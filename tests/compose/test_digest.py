from __future__ import annotations

import logging
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from distro.compose.digest import ComposedDigest, compose_digest
from distro.compose.templating import make_environment
from distro.errors import RenderError
from distro.models import Article
from distro.settings import DigestSettings, Settings

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
NOW = datetime(2025, 3, 10, 7, 0, tzinfo=UTC)
SLUG = "weekly-2025-03-10"
UTM = f"utm_source=newsletter&utm_medium=email&utm_campaign={SLUG}"
# (section, has image) per article, newest first: 12 articles over 4 configured sections, one unknown
# section and one without a section.
LAYOUT = [
    ("Economy", False),
    ("Security", True),
    ("Geopolitics", False),
    ("Commentary", False),
    ("Science", False),
    ("Security", False),
    (None, False),
    ("Economy", True),
    ("Geopolitics", False),
    ("Arts", False),
    ("Commentary", False),
    ("Security", False),
]


def sample_articles() -> list[Article]:
    articles = []
    for index, (section, image) in enumerate(LAYOUT):
        articles.append(
            Article(
                url=f"https://meridian-review.example/2025/story-{index}?ref=feed&amp=1",
                title=f"Story {index}: ports & “policy”",
                summary=f"Summary of story {index}. " + "A sentence to read. " * 20,
                author=f"Writer {index}",
                section=section,
                image_url=f"https://img.meridian-review.example/{index}.jpg" if image else None,
                published_at=NOW - timedelta(hours=6 * index + 1),
            )
        )
    return articles


def compose(
    settings: Settings | None = None, articles: list[Article] | None = None, templates: Path = TEMPLATES
) -> ComposedDigest:
    settings = settings or Settings()
    return compose_digest(
        settings=settings,
        newsletter=settings.digest,
        env=make_environment(templates),
        slug=SLUG,
        articles=sample_articles() if articles is None else articles,
        now=NOW,
    )


@pytest.fixture(scope="module")
def digest() -> ComposedDigest:
    return compose()


def headings(text: str) -> list[str]:
    """Section headings of the text part: the line above each line of dashes."""
    lines = text.splitlines()
    return [lines[i - 1] for i, line in enumerate(lines) if line == "-" * 72]


def test_sections_follow_the_configured_order(digest: ComposedDigest) -> None:
    # configured order, then unknown sections alphabetically, then "More" for articles without a section
    assert headings(digest.text) == [
        "TOP STORY: SECURITY",
        "GEOPOLITICS",
        "SECURITY",
        "ECONOMY",
        "COMMENTARY",
        "ARTS",
        "SCIENCE",
        "MORE",
    ]
    positions = [
        digest.html.index(f">{name}</h2>")  # shown in capitals by CSS, read as words
        for name in ("Geopolitics", "Security", "Economy", "Commentary", "Arts", "Science", "More")
    ]
    assert positions == sorted(positions)


def test_lead_is_the_newest_story_with_an_image(digest: ComposedDigest) -> None:
    lead = "Story 1: ports &amp; “policy”"
    assert digest.html.index(lead) < digest.html.index("Story 0: ports")
    # no description from the feed: alt="" and the picture's link, a repeat of the headline's, is hidden
    assert re.search(
        r'<a href="[^"]*" target="_blank" aria-hidden="true" tabindex="-1"[^>]*>'
        r'<img src="https://img.meridian-review.example/1.jpg" alt=""',
        digest.html,
    )
    assert 'width="552"' in digest.html and f'title="{lead}"' not in digest.html
    assert digest.text.count("Story 1: ports") == 1  # the lead is not repeated in its section
    assert digest.subject == "Story 1: ports & “policy”"  # the headline first: From names the publication


def test_lead_falls_back_to_the_newest_story() -> None:
    articles = sample_articles()
    for article in articles:
        article.image_url = None
    digest = compose(articles=articles)
    assert "<img" not in digest.html
    assert digest.subject.endswith("Story 0: ports & “policy”")


def test_at_most_max_stories_newest_first() -> None:
    settings = Settings(digest=DigestSettings(max_stories=5))
    digest = compose(settings)
    assert [f"Story {i}:" in digest.text for i in range(12)] == [True] * 5 + [False] * 7


def test_every_article_link_carries_utm(digest: ComposedDigest) -> None:
    for index in range(12):
        url = f"https://meridian-review.example/2025/story-{index}?ref=feed&amp=1&{UTM}"
        assert f"Read: {url}" in digest.text
        assert f'href="{url.replace("&", "&amp;")}"' in digest.html
    article_links = re.findall(r'href="(https://meridian-review\.example/2025/[^"]*)"', digest.html)
    assert article_links and all(UTM.replace("&", "&amp;") in link for link in article_links)


def test_text_part_is_a_reading_version(digest: ComposedDigest) -> None:
    text = digest.text
    assert text.startswith(
        "THE MERIDIAN REVIEW\nWeekly digest, 10 March 2025\n"
        "View in browser: http://localhost:8000/archive/weekly-2025-03-10\n"
        "\nHello %%DISTRO:text.greeting_name."
    )
    story = text[text.index("Story 5: ports") :]
    assert story.startswith(
        "Story 5: ports & “policy”\nBy Writer 5 | 9 March 2025 | 1 min read\n\nSummary of story 5."
    )
    flowed = " ".join(text.split())
    assert (
        "You are receiving this because you subscribed to the weekly digest of The Meridian Review" in flowed
    )
    assert "Unsubscribe: %%DISTRO:text.unsubscribe_url%%" in text
    assert "The Meridian Review, 1 Example Street, London EC1A 1AA, United Kingdom" in text
    assert max(len(line) for line in text.splitlines() if "://" not in line and "%%" not in line) <= 72


def test_html_is_a_responsive_accessible_email(digest: ComposedDigest) -> None:
    html = digest.html
    assert html.startswith("<!doctype html>")
    assert '<meta name="color-scheme" content="light dark">' in html
    assert '<meta name="supported-color-schemes" content="light dark">' in html
    assert "@media (prefers-color-scheme: dark)" in html and "width:100%; max-width:552px" in html
    assert "max-width:600px" in html
    assert 'mso-hide:all;">Summary of story 1. A sentence to read.' in html  # preheader: the lead's summary
    assert "color:#ffffff;line-height:1px" not in html  # not hidden by colour (HTML_FONT_LOW_CONTRAST)
    assert "Hello %%DISTRO:html.greeting_name." in html
    assert 'href="%%DISTRO:html.unsubscribe_url%%"' in html
    assert "1 Example Street" in html and "You are receiving this because you subscribed" in html
    assert "By Writer 5 · 9 March 2025 · 1 min read" in html
    assert "color:#222222" in html
    assert "googleapis" not in html  # no web-font requests
    assert digest.size_bytes == len(html.encode("utf-8"))


def test_dates_use_the_digest_timezone() -> None:
    settings = Settings(digest=DigestSettings(timezone="Pacific/Auckland"))
    article = sample_articles()[0]
    article.published_at = datetime(2025, 3, 9, 12, 30, tzinfo=UTC)  # already the 10th in Auckland
    digest = compose(settings, [article])
    assert "By Writer 0 | 10 March 2025 |" in digest.text


def test_no_articles_is_refused() -> None:
    with pytest.raises(ValueError):
        compose(articles=[])


def test_large_digest_warns_about_gmail_clipping(caplog: pytest.LogCaptureFixture) -> None:
    articles = sample_articles()
    for article in articles:
        article.summary = "Long reporting. " * 900
    with caplog.at_level(logging.WARNING, logger="distro.compose.digest"):
        digest = compose(articles=articles)
    assert digest.size_bytes > 102 * 1024
    assert "Gmail clips" in caplog.text


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    shutil.copytree(TEMPLATES, tmp_path / "templates")
    return tmp_path / "templates"


def replace_line(path: Path, number: int, new: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[number - 1] = new + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def test_syntax_error_stops_the_digest(templates: Path) -> None:
    replace_line(templates / "email/digest.mjml.j2", 6, "<mj-text>{{ publication.name ) }}</mj-text>")
    with pytest.raises(RenderError) as caught:
        compose(templates=templates)
    assert (caught.value.template, caught.value.line) == ("email/digest.mjml.j2", 6)


def test_undefined_variable_stops_the_digest(templates: Path) -> None:
    replace_line(
        templates / "email/partials/footer.mjml.j2", 4, "<mj-text>{{ publication.fax_number }}</mj-text>"
    )
    with pytest.raises(RenderError) as caught:
        compose(templates=templates)
    assert (caught.value.template, caught.value.line) == ("email/partials/footer.mjml.j2", 4)
    assert "fax_number" in caught.value.reason


def test_text_template_error_names_the_text_template(templates: Path) -> None:
    replace_line(templates / "email/digest.txt.j2", 19, "{{ publication.name|no_such_filter }}")
    with pytest.raises(RenderError) as caught:
        compose(templates=templates)
    assert (caught.value.template, caught.value.line) == ("email/digest.txt.j2", 19)


def test_subject_error_names_the_setting() -> None:
    settings = Settings(digest=DigestSettings(subject="{{ lead.headline }}"))
    with pytest.raises(RenderError) as caught:
        compose(settings)
    assert caught.value.template == "settings.digest.subject"


def test_mjml_error_is_a_render_error(templates: Path) -> None:
    path = templates / "email/digest.mjml.j2"
    path.write_text(path.read_text(encoding="utf-8").replace("</mjml>", ""), encoding="utf-8")
    with pytest.raises(RenderError) as caught:
        compose(templates=templates)
    assert caught.value.template == "email/digest.mjml.j2"
    assert "MJML" in caught.value.reason


def test_altered_subscriber_slot_is_a_render_error(templates: Path) -> None:
    path = templates / "email/partials/masthead.mjml.j2"
    source = path.read_text(encoding="utf-8").replace(
        "subscriber.greeting_name", "subscriber.greeting_name|upper"
    )
    path.write_text(source, encoding="utf-8")
    with pytest.raises(RenderError) as caught:
        compose(templates=templates)
    assert caught.value.template == "email/digest.mjml.j2"
    assert "slot" in caught.value.reason


def test_feed_text_shaped_like_a_slot_cannot_become_one() -> None:
    articles = sample_articles()
    articles[1].title = "Leak %%DISTRO:header.to%% and %%DISTRO:html.unsubscribe_url%%"
    articles[2].summary = "Broken %%DISTRO:nonsense%% marker"
    articles[3].url = "https://meridian-review.example/x?q=%%DISTRO:text.email%%"
    digest = compose(articles=articles)  # composes instead of failing on a feed's text
    assert "Leak %\u2060%DISTRO:header.to%% and" in digest.text
    assert "?q=%25%25DISTRO:text.email%%&utm_source" in digest.text
    assert digest.message_template.count("%%DISTRO:header.to%%") == 1  # only the To header's slot


def test_lead_without_a_section() -> None:
    article = sample_articles()[0]
    article.section = None
    digest = compose(articles=[article])
    assert "\nTOP STORY\n" in digest.text
    assert ">Top story</h2>" in digest.html
    assert "Here is this week's 1 story from The Meridian Review." in digest.text
