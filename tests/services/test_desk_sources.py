"""Sources added on the desk, through the real fetch code against a real loopback HTTP server: the dry run
(feed and WordPress API, back-catalogue marking, SSRF refusal), adding, polling with ``distro ingest``'s
list, pausing, removing (articles kept), and ``distro sources list`` showing both origins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from distro.app import App
from distro.db import session_scope
from distro.errors import InvalidInput, Refused
from distro.models import Activity, Article, DeskSource
from distro.services.desk_sources import (
    BACKLOG,
    NEW,
    STORED,
    add_source,
    dry_run,
    parse_new_source,
    poll_now,
    remove_source,
    set_paused,
)
from distro.services.ingest import ingest, list_sources
from tests.conftest import EXAMPLE_FEED
from tests.fakes.http_server import FakeHTTPServer, http_server
from tests.sources.test_wordpress import post

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ADMIN = "editor:admin@meridian-review.example"


@pytest.fixture(autouse=True)
def pinned(clock: time_machine.Traveller) -> None:
    """Every test at the clock fixture's instant."""


@pytest.fixture
def site() -> Iterator[FakeHTTPServer]:
    """A publication on loopback: the example feed at /feed/ and three posts on a WordPress API."""
    with http_server() as server:
        server.route(
            "/feed/", body=EXAMPLE_FEED.read_bytes(), headers={"Content-Type": "application/rss+xml"}
        )
        server.route(
            "/wp-json/wp/v2/posts",
            body=json.dumps([post(3), post(2), post(1)]).encode(),
            headers={"Content-Type": "application/json"},
        )
        yield server


@pytest.fixture
def private_ok(app: App) -> App:
    app.settings.web.desk_private_sources = True  # the test server is on loopback
    return app


def feed(site: FakeHTTPServer, name: str = "wire", backfill: str = "2"):  # type: ignore[no-untyped-def]
    return parse_new_source(name=name, url=site.url("/feed/"), kind="feed", backfill=backfill, private=True)


@sqlite_only
def test_a_dry_run_of_a_feed_shows_what_the_first_poll_would_store(
    private_ok: App, site: FakeHTTPServer
) -> None:
    run = dry_run(private_ok, feed(site))
    assert run.error is None and len(run.items) == 12
    newest = sorted(run.items, key=lambda i: i.published_at or 0, reverse=True)
    assert [i.fate for i in newest] == [NEW, NEW] + [BACKLOG] * 10
    assert {i.section for i in run.items} == {"Geopolitics", "Security", "Economy", "Commentary"}
    assert all(i.title and i.published_at is not None for i in run.items)
    with private_ok.engine.connect() as c:  # nothing written
        assert c.execute(sa.select(sa.func.count()).select_from(Article)).scalar() == 0
        assert c.execute(sa.select(sa.func.count()).select_from(DeskSource)).scalar() == 0


@sqlite_only
def test_a_dry_run_marks_what_is_already_stored(private_ok: App, site: FakeHTTPServer) -> None:
    ingest(private_ok)  # the TOML source: the same twelve articles, from the file
    run = dry_run(private_ok, feed(site))
    assert [i.fate for i in run.items] == [STORED] * 12


@sqlite_only
def test_a_dry_run_of_a_wordpress_site(private_ok: App, site: FakeHTTPServer) -> None:
    new = parse_new_source(name="wp", url=site.url("/"), kind="wordpress", backfill="0", private=True)
    run = dry_run(private_ok, new)
    assert [(i.title, i.section, i.fate) for i in run.items] == [
        (f"Post {n} \u2013 news", "Security", BACKLOG) for n in (3, 2, 1)
    ]
    assert site.requests_to("/wp-json/wp/v2/posts")


@sqlite_only
def test_private_addresses_are_refused_unless_the_operator_allows_them(
    app: App, site: FakeHTTPServer
) -> None:
    with pytest.raises(Refused, match="web.desk_private_sources"):
        dry_run(app, feed(site))
    public_only = parse_new_source(name="wire", url=site.url("/feed/"), kind="feed", backfill="0")
    run = dry_run(app, public_only)  # the fetcher's own SSRF refusal
    assert run.items == [] and run.error and "loopback, private or link-local" in run.error
    assert not site.requests  # refused before connecting


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "give the source a name"),
        ({"url": "/etc/passwd"}, "is not an http"),
        ({"url": "file:///etc/passwd"}, "is not an http"),
        ({"url": "https://me:secret@feeds.example/"}, "DISTRO_SOURCE_HEADERS"),
        ({"kind": "ftp"}, "kind must be one of"),
        ({"backfill": "many"}, "whole number"),
        ({"backfill": "5000"}, "between 0 and 1000"),
    ],
)
def test_bad_input_gets_a_one_line_error(fields: dict[str, str], message: str) -> None:
    given = {"name": "wire", "url": "https://feeds.example/", "kind": "feed", "backfill": "0"} | fields
    with pytest.raises(InvalidInput, match=message) as caught:
        parse_new_source(**given)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value) and "secret" not in str(caught.value)


def test_added_sources_are_polled_with_the_toml_ones_and_can_be_paused(
    private_ok: App, site: FakeHTTPServer
) -> None:
    app = private_ok
    report = add_source(app, feed(site), actor=ADMIN)
    assert (report.new, report.backlog, report.error) == (12, 10, None)
    with pytest.raises(InvalidInput, match="exists already"):
        add_source(app, feed(site), actor=ADMIN)
    with pytest.raises(InvalidInput, match="exists already"):
        dry_run(app, feed(site, name="meridian-review"))  # the TOML source's name
    assert [r.source for r in ingest(app)] == ["meridian-review", "wire"]  # the scheduler's list
    set_paused(app, "wire", True, actor=ADMIN)
    assert [r.source for r in ingest(app)] == ["meridian-review"]
    before = len(site.requests_to("/feed/"))
    assert poll_now(app, "wire", actor=ADMIN).error is None  # by name, paused or not
    assert len(site.requests_to("/feed/")) == before + 1
    wire = next(s for s in list_sources(app) if s.name == "wire")
    assert (wire.origin, wire.paused, wire.articles, wire.next_poll_at) == ("desk", True, 12, None)
    with pytest.raises(Refused, match="config file"):
        set_paused(app, "meridian-review", True, actor=ADMIN)


@sqlite_only
def test_removing_a_source_keeps_its_articles(private_ok: App, site: FakeHTTPServer) -> None:
    app = private_ok
    add_source(app, feed(site), actor=ADMIN)
    remove_source(app, "wire", actor=ADMIN)
    assert [r.source for r in ingest(app)] == ["meridian-review"]
    wire = next(s for s in list_sources(app) if s.name == "wire")
    assert (wire.origin, wire.articles) == ("earlier", 12)
    with app.engine.connect() as c:
        query = sa.select(Activity.actor, Activity.action, Activity.subject).order_by(sa.column("id"))  # type: ignore[call-overload]
        actions = [tuple(row) for row in c.execute(query)]
    assert actions == [(ADMIN, "source.add", "source wire"), (ADMIN, "source.remove", "source wire")]


@sqlite_only
def test_distro_sources_list_shows_both_origins(app: App, tmp_path: Path) -> None:
    with session_scope(app.engine) as session:
        session.add(DeskSource(name="wire", url="https://wire.example/feed/", created_by=ADMIN, paused=True))
    (tmp_path / "distro.toml").write_text(
        f'[[sources]]\nname = "meridian-review"\nurl = "{EXAMPLE_FEED}"\n', encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRO_")}
    env |= {"DISTRO_DATABASE_URL": app.settings.database_url, "DISTRO_CONFIG": str(tmp_path / "distro.toml")}
    env["DISTRO_VAR_DIR"] = str(tmp_path / "var")
    result = subprocess.run(
        [sys.executable, "-m", "distro.cli", "sources", "list", "--format", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert (rows["meridian-review"]["origin"], rows["meridian-review"]["paused"]) == ("config", False)
    assert (rows["wire"]["origin"], rows["wire"]["paused"], rows["wire"]["url"]) == (
        "desk",
        True,
        "https://wire.example/feed/",
    )
