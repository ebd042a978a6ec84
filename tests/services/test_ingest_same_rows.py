"""A first poll of a 1,000-item feed, and a second poll of its edited version, store the rows the slow path
stores: feedparser sanitising every field (``sanitize_in_parser``) and one ORM object per new article, as
ingest worked before it was made fast. The reference runs in a transaction that is rolled back, then the
real ingest runs, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import time_machine
from sqlmodel import Session

from distro.app import App
from distro.db import session_scope
from distro.models import Article, utcnow
from distro.services.articles import _update
from distro.services.ingest import backlog_indexes, ingest
from distro.sources.base import ArticleDraft
from distro.sources.feed import parse_feed_document
from distro.store import sources

SITE = "https://catalogue.example"


def catalogue(items: int, *, edited: bool = False) -> bytes:
    """A WordPress-like back catalogue, with what real ones hold: repeats, odd markup, missing dates."""
    entries = []
    for n in range(items):
        title = f"Story {n}: {'an update' if edited and n % 7 == 0 else 'a headline'} &amp; more"
        summary = (
            f"<p>Summary of story {n} with <b>markup</b> and <img src='/img/{n}.jpg'> an image.</p>"
            if n % 5
            else f"<p>Story {n}</p><script>alert({n})</script><!-- more --><p>&eacute;t&eacute;&#8230;</p>"
        )
        date = f"<pubDate>Mon, {1 + n % 28:02d} Nov 2026 {n % 24:02d}:00:00 +0000</pubDate>" if n % 9 else ""
        media = f'<media:content url="{SITE}/m/{n}.png" medium="image"/>' if n % 11 == 0 else ""
        content = f'<content:encoded><![CDATA[<figure><img src="/c/{n}.jpg"></figure>]]></content:encoded>'
        guid = f"g-{n % 990}"  # ten repeated GUIDs: the first of each is kept
        link = "javascript:alert(1)" if n == 500 else f"{SITE}/{n}/"
        entries.append(
            f"<item><title>{title}</title><link>{link}</link><guid isPermaLink='false'>{guid}</guid>{date}"
            f"<dc:creator>Author {n % 13}</dc:creator><category>Section {n % 4}</category>"
            f"<description><![CDATA[{summary}]]></description>{content if n % 3 == 0 else ''}{media}</item>"
        )
    if edited:
        entries.append(f"<item><title>Brand new</title><link>{SITE}/new/</link></item>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel><title>Catalogue</title><link>{SITE}/</link>{''.join(entries)}</channel></rss>"
    ).encode()


def reference_store(
    session: Session, source_id: int | None, drafts: Sequence[ArticleDraft], backlog: Collection[int]
) -> None:
    """store_drafts as it was: an ORM object added to the session for every new article."""
    known: dict[str, Any] = {}
    for article in session.exec(sa.select(Article)).scalars():  # type: ignore[call-overload]
        if article.guid:
            known["guid:" + article.guid] = article
        known["url:" + article.url] = article
    now = utcnow()
    for index, draft in enumerate(drafts):
        existing = (known.get(f"guid:{draft.guid}") if draft.guid else None) or known.get("url:" + draft.url)
        if existing is not None:
            _update(existing, draft, now)
            continue
        article = Article(
            source_id=source_id,
            guid=draft.guid,
            url=draft.url,
            title=draft.title,
            summary=draft.summary,
            author=draft.author,
            section=draft.section,
            image_url=draft.image_url,
            published_at=draft.published_at,
            source_modified_at=draft.modified_at,
            first_seen_at=now,
            updated_at=now,
            backlog=index in backlog,
        )
        session.add(article)
        if draft.guid:
            known["guid:" + draft.guid] = article
        known["url:" + draft.url] = article
    session.flush()


def rows(session: Session) -> list[tuple[Any, ...]]:
    """Every stored article, every column but the ids (a rolled-back PostgreSQL sequence moves on)."""
    columns = [c for c in Article.__table__.columns if c.name not in ("id", "source_id")]  # type: ignore[attr-defined]
    return [tuple(row) for row in session.execute(sa.select(*columns).order_by(Article.id))]  # type: ignore[arg-type]


def reference_poll(app: App, name: str, data: bytes, backfill: int | None) -> list[tuple[Any, ...]]:
    """The rows the slow path leaves after polling ``data`` (a first poll when ``backfill`` is given),
    found in a transaction that is then rolled back."""
    drafts, _links = parse_feed_document(data, source=name, sanitize_in_parser=True)
    backlog = backlog_indexes(drafts, backfill) if backfill is not None else frozenset()
    with Session(app.engine) as session:
        source = sources.named(session, name, url=name, kind="feed")
        reference_store(session, source.id, drafts, backlog)
        found = rows(session)
        session.rollback()
    return found


def test_a_thousand_items_are_stored_as_the_slow_path_stores_them(
    app: App, tmp_path: Path, clock: time_machine.Traveller
) -> None:
    path = tmp_path / "catalogue.xml"
    path.write_bytes(catalogue(1000))
    expected = reference_poll(app, str(path), path.read_bytes(), backfill=50)
    (report,) = ingest(app, str(path), backfill=50)
    assert (report.error, report.new, report.backlog) == (None, 989, 939)  # 10 repeats, 1 javascript: link
    with session_scope(app.engine) as session:
        assert rows(session) == expected

    path.write_bytes(catalogue(1000, edited=True))
    clock.shift(timedelta(hours=1))
    expected = reference_poll(app, str(path), path.read_bytes(), backfill=None)
    (again,) = ingest(app, str(path))
    assert (again.new, again.updated, again.unchanged) == (1, 142, 847)
    with session_scope(app.engine) as session:
        assert rows(session) == expected
