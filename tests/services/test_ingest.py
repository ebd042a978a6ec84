"""Ingest on both backends: an article is stored once (by GUID, else URL), edits update it, a failing
source is recorded on its row and stores nothing."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from distro.app import App
from distro.models import Article, Source
from distro.services.ingest import ingest

ITEM = """<item><title>{title}</title><link>{link}</link>{guid}
<description>{summary}</description><pubDate>Mon, 23 Nov 2026 08:00:00 +0000</pubDate>
<category>Security</category></item>"""


def feed(path: Path, *items: str) -> str:
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>T</title>'
        "<link>https://mag.example.com/</link>" + "".join(items) + "</channel></rss>"
    )
    return str(path)


def item(title: str, link: str, guid: str | None = None, summary: str = "Summary.") -> str:
    g = f'<guid isPermaLink="false">{guid}</guid>' if guid else ""
    return ITEM.format(title=title, link=link, guid=g, summary=summary)


def articles(app: App) -> list[tuple[str | None, str, str, str]]:
    with app.engine.connect() as c:
        rows = c.execute(
            sa.select(Article.guid, Article.url, Article.title, Article.summary).order_by(Article.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_the_same_article_is_stored_once_and_edits_update_it(app: App, tmp_path: Path) -> None:
    path = feed(
        tmp_path / "a.xml",
        item("First", "https://mag.example.com/a", "p=1"),
        item("Second", "https://mag.example.com/b"),
    )
    (report,) = ingest(app, path)
    assert (report.new, report.updated, report.error) == (2, 0, None)
    (again,) = ingest(app, path)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)

    feed(
        tmp_path / "a.xml",
        item("First, corrected", "https://mag.example.com/a?amp=1", "p=1", "New summary."),  # same GUID
        item("Second", "https://mag.example.com/b", "p=2"),
    )  # same URL, now with a GUID
    (edited,) = ingest(app, path)
    assert (edited.new, edited.updated, edited.unchanged) == (0, 1, 1)
    assert articles(app) == [
        ("p=1", "https://mag.example.com/a", "First, corrected", "New summary."),
        (None, "https://mag.example.com/b", "Second", "Summary."),
    ]


def test_an_article_that_leaves_the_feed_is_kept(app: App, tmp_path: Path) -> None:
    path = feed(
        tmp_path / "a.xml", item("One", "https://mag.example.com/1"), item("Two", "https://mag.example.com/2")
    )
    ingest(app, path)
    feed(tmp_path / "a.xml", item("Two", "https://mag.example.com/2"))
    ingest(app, path)
    assert [a[2] for a in articles(app)] == ["One", "Two"]


def test_a_broken_source_is_recorded_and_stores_nothing(app: App, tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text("<rss><channel><item><title>half")
    (report,) = ingest(app, str(path))
    assert report.error and "broken.xml" in report.error
    assert articles(app) == []
    with app.engine.connect() as c:
        source = c.execute(sa.select(Source).where(Source.name == str(path))).one()
    assert source.last_error == report.error and source.last_polled_at is not None
