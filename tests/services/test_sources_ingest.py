"""Ingest behaviour editors expect, on both backends: back catalogue, backfill, one row per story from
feed and webhook, cheap unchanged polls, source status, and refusal of private addresses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from distro.app import App, build_app
from distro.db import upgrade
from distro.models import Article, Source
from distro.services.articles import store_pushed
from distro.services.ingest import ingest, list_sources
from distro.settings import Settings, SourceSettings
from distro.sources.webhook import payload_to_draft
from distro.store.articles import FRESH
from tests.fakes.http_server import FakeHTTPServer, RecordedRequest, Reply, http_server


def rss(*items: tuple[str, str], hub: str | None = None) -> bytes:
    """A feed of (slug, pubDate day) items, newest first as feeds list them."""
    entries = "".join(
        f"<item><title>Story {slug}</title><link>https://mag.example/{slug}</link>"
        f"<guid>https://mag.example/?p={slug}</guid><pubDate>{day} Nov 2026 08:00:00 +0000</pubDate></item>"
        for slug, day in items
    )
    hub_link = f'<atom:link rel="hub" href="{hub}"/>' if hub else ""
    return (
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>Mag</title>'
        f"<link>https://mag.example/</link>{hub_link}{entries}</channel></rss>"
    ).encode()


@pytest.fixture
def server() -> Iterator[FakeHTTPServer]:
    with http_server() as running:
        yield running


def with_sources(settings: Settings, *sources: SourceSettings) -> Iterator[App]:
    application = build_app(settings.model_copy(update={"sources": list(sources)}))
    upgrade(application.engine)
    yield application
    application.engine.dispose()


def feed_source(
    server: FakeHTTPServer, name: str = "mag", path: str = "/feed", **extra: Any
) -> SourceSettings:
    return SourceSettings(name=name, url=server.url(path), allow_private_addresses=True, **extra)


def fresh_titles(app: App) -> list[str]:
    with app.engine.connect() as connection:
        query = sa.select(Article.title).where(FRESH).order_by(Article.title)
        return list(connection.execute(query).scalars())


def backlog_count(app: App) -> int:
    with app.engine.connect() as connection:
        query = sa.select(sa.func.count()).select_from(Article).where(Article.backlog.is_(True))  # type: ignore[attr-defined]
        return int(connection.execute(query).scalar_one())


ITEMS = [("d", "23"), ("c", "22"), ("b", "21"), ("a", "20")]


def test_first_poll_records_the_back_catalogue_and_later_items_are_new(
    settings: Settings, server: FakeHTTPServer
) -> None:
    server.route("/feed", body=rss(*ITEMS))
    for app in with_sources(settings, feed_source(server)):
        [first] = ingest(app)
        assert (first.new, first.backlog) == (4, 4)
        assert fresh_titles(app) == []
        server.route("/feed", body=rss(("e", "24"), *ITEMS))
        [second] = ingest(app)
        assert (second.new, second.backlog, second.unchanged) == (1, 0, 4)
        assert fresh_titles(app) == ["Story e"]


@pytest.mark.parametrize(
    ("setting", "flag", "fresh"), [(2, None, ["Story c", "Story d"]), (0, 1, ["Story d"])]
)
def test_backfill_setting_or_flag_keeps_the_newest_items_new(
    settings: Settings, server: FakeHTTPServer, setting: int, flag: int | None, fresh: list[str]
) -> None:
    server.route("/feed", body=rss(*reversed(ITEMS)))  # oldest first: order comes from the dates
    for app in with_sources(settings, feed_source(server, backfill=setting)):
        ingest(app, backfill=flag)
        assert fresh_titles(app) == fresh
        assert backlog_count(app) == 4 - len(fresh)


def test_the_same_story_from_feed_and_webhook_is_stored_once(
    settings: Settings, server: FakeHTTPServer
) -> None:
    server.route("/feed", body=rss(*ITEMS))
    for app in with_sources(settings, feed_source(server, backfill=4)):
        pushed = payload_to_draft({"url": "https://mag.example/e", "title": "Story e (first version)"})
        assert pushed is not None
        assert store_pushed(app, "webhook", "webhook", [pushed]).new == 1
        server.route("/feed", body=rss(("e", "24"), *ITEMS))
        [report] = ingest(app)
        assert (report.new, report.updated) == (4, 1)  # the webhook's story was updated, not duplicated
        with app.engine.connect() as connection:
            urls = connection.execute(sa.select(Article.url, Article.title).order_by(Article.url)).all()
        assert [u for u, _ in urls] == [f"https://mag.example/{s}" for s in "abcde"]
        assert ("https://mag.example/e", "Story e") in urls


def _conditional(body: bytes) -> Any:
    def answer(request: RecordedRequest) -> Reply:
        if request.header("If-None-Match") == '"v1"':
            return Reply(304, {"ETag": '"v1"'})
        return Reply(200, {"ETag": '"v1"', "Content-Type": "application/rss+xml"}, body)

    return answer


def test_polling_500_unchanged_sources_costs_500_conditional_requests_and_only_poll_times(
    settings: Settings, server: FakeHTTPServer
) -> None:
    # 500 as the issue asks on SQLite; the same code path on PostgreSQL with 100 keeps the suite fast.
    count = 500 if settings.database_url.startswith("sqlite") else 100
    sources = []
    for n in range(count):
        server.route(f"/f{n}", handler=_conditional(rss((f"s{n}", "23"))))
        sources.append(feed_source(server, name=f"site-{n}", path=f"/f{n}"))
    for app in with_sources(settings, *sources):
        ingest(app, "site-0")  # one real first poll; the other 499 are seeded as if polled before
        seeded = ingest(app, "site-0")
        assert seeded[0].not_modified
        with app.engine.begin() as connection:
            row = connection.execute(sa.select(Source).where(Source.name == "site-0")).mappings().one()
            copies = [
                {
                    **row,
                    "id": None,
                    "name": f"site-{n}",
                    "url": sources[n].url,
                    "configured_url": sources[n].url,
                }
                for n in range(1, count)
            ]
            connection.execute(sa.insert(Source), [{k: v for k, v in c.items() if k != "id"} for c in copies])
        server.requests.clear()
        writes: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any, writes: list[str] = writes) -> None:
            if not statement.lstrip().upper().startswith(("SELECT", "BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
                writes.append(" ".join(statement.split()))

        event.listen(app.engine, "before_cursor_execute", record)
        reports = ingest(app)
        event.remove(app.engine, "before_cursor_execute", record)
        assert all(r.not_modified for r in reports) and len(reports) == count
        assert len(server.requests) == count
        assert all(r.header("If-None-Match") == '"v1"' for r in server.requests)
        assert len(writes) == count
        columns = {frozenset(re.findall(r"(\w+)=", w.split(" WHERE ")[0])) for w in writes}
        assert all(w.startswith("UPDATE source SET ") for w in writes)
        assert columns == {frozenset({"last_polled_at", "next_poll_at"})}


def test_sources_list_shows_polls_errors_and_next_poll(settings: Settings, server: FakeHTTPServer) -> None:
    server.route("/feed", body=rss(*ITEMS))
    server.route("/gone", status=429, headers={"Retry-After": "7200"})
    good, limited = feed_source(server), feed_source(server, name="busy", path="/gone")
    never = SourceSettings(name="later", url="https://later.example/feed")
    for app in with_sources(settings, good, limited, never):
        ingest(app, "mag")
        ingest(app, "busy")
        status = {s.name: s for s in list_sources(app)}
        assert list(status) == ["mag", "busy", "later"]
        assert status["mag"].articles == 4 and status["mag"].last_error is None
        assert status["busy"].last_error is not None and "429" in status["busy"].last_error
        busy = status["busy"]
        assert busy.next_poll_at is not None and busy.last_polled_at is not None
        assert (busy.next_poll_at - busy.last_polled_at).total_seconds() >= 7200  # Retry-After honoured
        assert status["later"].last_polled_at is None


def test_private_addresses_are_refused_unless_allowed(settings: Settings, server: FakeHTTPServer) -> None:
    server.route("/feed", body=rss(*ITEMS))
    refused = SourceSettings(name="internal", url=server.url("/feed"))
    metadata = SourceSettings(name="metadata", url="http://169.254.169.254/latest/meta-data/")
    for app in with_sources(settings, refused, metadata):
        reports = ingest(app)
        assert all(r.error and "allow_private_addresses" in r.error for r in reports)
        assert server.requests == []  # refused before connecting
        with app.engine.connect() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(Article)).scalar_one() == 0
            errors = connection.execute(sa.select(Source.last_error)).scalars().all()
        assert all("sources.internal" in e or "sources.metadata" in e for e in errors if e)


def test_a_permanent_redirect_moves_later_polls_until_the_editor_changes_the_url(
    settings: Settings, server: FakeHTTPServer
) -> None:
    server.route("/old", status=301, headers={"Location": server.url("/new")})
    server.route("/new", body=rss(*ITEMS))
    server.route("/other", body=rss(*ITEMS))
    for app in with_sources(settings, feed_source(server, path="/old")):
        ingest(app)
        ingest(app)
        assert len(server.requests_to("/old")) == 1  # the second poll went straight to the new address
        assert len(server.requests_to("/new")) == 2
        with app.engine.connect() as connection:
            assert connection.execute(sa.select(Source.url)).scalar_one() == server.url("/new")
        app.settings.sources = [feed_source(server, path="/other")]  # the editor points it elsewhere
        ingest(app)
        assert len(server.requests_to("/other")) == 1 and len(server.requests_to("/new")) == 2
