"""A source URL's credentials (``https://user:pw@host/feed``) and secret headers are sent with the request
and nowhere else: not in the source row, its last error, ``distro sources list``, ``distro status`` or
the name of an ad hoc source. A real HTTP server on loopback; SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from distro.app import App
from distro.errors import SourceError
from distro.models import Source
from distro.services.ingest import ingest, list_sources
from distro.services.status import collect
from distro.settings import SourceSettings
from tests.fakes.http_server import FakeHTTPServer, http_server

EXAMPLE_FEED = Path(__file__).resolve().parents[2] / "examples" / "feed.xml"
SECRETS = ("reader", "hunter2", "api-key-123456")


@pytest.fixture
def server() -> Iterator[FakeHTTPServer]:
    with http_server() as running:
        yield running


def stored(app: App) -> str:
    """Every value of every source row, as one text."""
    with app.engine.connect() as connection:
        return repr([tuple(row) for row in connection.execute(sa.select(Source.__table__))])  # type: ignore[attr-defined]


def shown(app: App) -> str:
    return repr(list_sources(app)) + repr(collect(app).sources)


def private_source(server: FakeHTTPServer) -> SourceSettings:
    url = server.url("/feed").replace("http://", "http://reader:hunter2@")
    return SourceSettings(
        name="private",
        url=url,
        allow_private_addresses=True,  # the test server is on loopback
        secret_headers={"X-Api-Key": SecretStr("api-key-123456")},
    )


def test_credentials_go_to_the_server_and_are_kept_nowhere(app: App, server: FakeHTTPServer) -> None:
    server.route("/feed", body=EXAMPLE_FEED.read_bytes(), headers={"Content-Type": "application/rss+xml"})
    app.settings.sources = [private_source(server)]
    [report] = ingest(app)
    assert report.error is None and report.new == 12
    [request] = server.requests
    assert request.header("Authorization") == "Basic " + base64.b64encode(b"reader:hunter2").decode()
    assert request.header("X-Api-Key") == "api-key-123456"
    for text in (stored(app), shown(app)):
        assert not any(secret in text for secret in SECRETS), text
    assert server.url("/feed") in stored(app)


def test_a_failing_poll_records_its_error_without_the_credentials(app: App, server: FakeHTTPServer) -> None:
    server.route("/feed", status=401)
    app.settings.sources = [private_source(server)]
    [report] = ingest(app)
    assert report.error and "401" in report.error
    assert "401" in stored(app) and "401" in shown(app)
    for text in (report.error, stored(app), shown(app)):
        assert not any(secret in text for secret in SECRETS), text


def test_an_ad_hoc_url_is_named_and_stored_without_its_credentials(app: App) -> None:
    """``distro ingest http://user:pw@host/feed``: here refused (a private address) before any request."""
    [report] = ingest(app, "http://reader:hunter2@127.0.0.1:9/feed")
    assert report.source == "http://127.0.0.1:9/feed" and report.error
    for text in (report.error, stored(app), shown(app)):
        assert "hunter2" not in text and "reader" not in text, text


def test_a_source_error_strips_every_url_credential_in_its_message() -> None:
    error = SourceError("http://a:first-pw@a.example/", "moved to https://b:second-pw@b.example/ then failed")
    assert "first-pw" not in str(error) and "second-pw" not in str(error)
    assert "https://b.example/" in str(error) and error.source == "http://a.example/"
