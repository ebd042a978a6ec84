"""fetch_url against a real HTTP server on loopback: politeness, limits, errors an editor can act on."""

from __future__ import annotations

import gzip
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from distro.errors import SourceError
from distro.sources.fetch import (
    DEFAULT_USER_AGENT,
    FetchResponse,
    SourceUnavailable,
    fetch_url,
    parse_retry_after,
    read_path,
)
from tests.fakes.http_server import FakeHTTPServer, RecordedRequest, Reply, endless, http_server, trickle

UA = "distro-test/1.0 (+https://meridian-review.example/bot)"


@pytest.fixture
def server() -> Iterator[FakeHTTPServer]:
    with http_server() as running:
        yield running


def get(url: str, **overrides: object) -> FetchResponse:
    options: dict[str, object] = {
        "user_agent": UA,
        "timeout": 5.0,
        "max_bytes": 1_000_000,
        "allow_private_addresses": True,  # the test server is on loopback
    }
    options.update(overrides)
    return fetch_url(url, **options)  # type: ignore[arg-type]


def test_ok_body_headers_and_user_agent(server: FakeHTTPServer) -> None:
    server.route(
        "/feed",
        body=b"<rss/>",
        headers={"Content-Type": "application/rss+xml; charset=utf-8", "ETag": '"v1"'},
    )
    response = get(server.url("/feed"), extra_headers={"Accept": "application/rss+xml"})
    assert response.status == 200
    assert response.body == b"<rss/>"
    assert response.etag == '"v1"'
    assert response.content_type == "application/rss+xml; charset=utf-8"
    assert not response.not_modified
    assert response.permanent_url is None
    sent = server.requests[0]
    assert sent.header("User-Agent") == UA
    assert sent.header("Accept") == "application/rss+xml"
    assert sent.header("If-None-Match") is None
    assert sent.header("If-Modified-Since") is None


def test_default_user_agent_names_the_project() -> None:
    assert DEFAULT_USER_AGENT.startswith("distro/")
    assert "+http" in DEFAULT_USER_AGENT


def _conditional(request: RecordedRequest) -> Reply:
    validators = {"ETag": '"v7"', "Last-Modified": "Sun, 22 Nov 2026 18:04:51 GMT"}
    if request.header("If-None-Match") == '"v7"':
        return Reply(304, validators)
    return Reply(200, validators, b"<rss>fresh</rss>")


def test_conditional_get_sends_validators_and_304_has_no_body(server: FakeHTTPServer) -> None:
    server.route("/feed", handler=_conditional)
    first = get(server.url("/feed"))
    assert first.body == b"<rss>fresh</rss>"
    second = get(server.url("/feed"), etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified
    assert second.status == 304
    assert second.body == b""
    assert (second.etag, second.last_modified) == (first.etag, first.last_modified)
    conditional = server.requests[1]
    assert conditional.header("If-None-Match") == '"v7"'
    assert conditional.header("If-Modified-Since") == "Sun, 22 Nov 2026 18:04:51 GMT"


def test_304_without_validators_keeps_the_ones_sent(server: FakeHTTPServer) -> None:
    server.route("/feed", status=304)
    response = get(server.url("/feed"), etag='"old"', last_modified="Mon, 16 Nov 2026 10:00:00 GMT")
    assert response.not_modified
    assert response.etag == '"old"'
    assert response.last_modified == "Mon, 16 Nov 2026 10:00:00 GMT"


def test_403_explains_how_to_fix_it(server: FakeHTTPServer) -> None:
    server.route("/feed", status=403, body=b"go away")
    with pytest.raises(SourceError) as caught:
        get(server.url("/feed"), source_name="meridian")
    error = caught.value
    assert not isinstance(error, SourceUnavailable)  # retrying the same request will not help
    assert error.source == server.url("/feed")
    assert "answered 403" in str(error)
    assert "sources.meridian.user_agent" in str(error)


def test_404_points_at_the_url_setting(server: FakeHTTPServer) -> None:
    with pytest.raises(SourceError, match=r"answered 404.*sources\.meridian\.url"):
        get(server.url("/missing"), source_name="meridian")


def test_429_carries_retry_after_seconds(server: FakeHTTPServer) -> None:
    server.route("/feed", status=429, headers={"Retry-After": "120"})
    with pytest.raises(SourceUnavailable) as caught:
        get(server.url("/feed"))
    assert caught.value.retry_after == 120.0
    assert "429" in str(caught.value) and "retry after 120 s" in str(caught.value)


def test_503_with_an_http_date_retry_after(server: FakeHTTPServer) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    server.route("/feed", status=503, headers={"Retry-After": later})
    with pytest.raises(SourceUnavailable) as caught:
        get(server.url("/feed"))
    assert caught.value.retry_after is not None
    assert 540 <= caught.value.retry_after <= 600


def test_500_without_retry_after_is_temporary(server: FakeHTTPServer) -> None:
    server.route("/feed", status=500)
    with pytest.raises(SourceUnavailable) as caught:
        get(server.url("/feed"))
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("0", 0.0), (" 30 ", 30.0), ("soon", None), ("-5", None)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_past_retry_after_date_means_now() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_declared_length_over_the_limit_is_refused_before_reading(server: FakeHTTPServer) -> None:
    server.route("/big", body=b"x" * 5000)
    with pytest.raises(SourceError, match="larger than 1000 bytes") as caught:
        get(server.url("/big"), max_bytes=1000, source_name="meridian")
    assert "sources.meridian.max_bytes" in str(caught.value)


def test_endless_body_without_length_is_cut_off_quickly(server: FakeHTTPServer) -> None:
    server.route("/endless", body=endless())
    started = time.monotonic()
    with pytest.raises(SourceError, match="larger than 100000 bytes"):
        get(server.url("/endless"), max_bytes=100_000)
    assert time.monotonic() - started < 2


def test_endless_chunked_body_is_cut_off_quickly(server: FakeHTTPServer) -> None:
    def chunks() -> Iterator[bytes]:
        while True:
            yield b"2000\r\n" + b"x" * 0x2000 + b"\r\n"

    server.route("/chunked", headers={"Transfer-Encoding": "chunked"}, body=chunks)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"larger than 100000 bytes; raise sources\.<name>\.max_bytes"):
        get(server.url("/chunked"), max_bytes=100_000)
    assert time.monotonic() - started < 2


def test_body_longer_than_declared_is_still_bounded(server: FakeHTTPServer) -> None:
    # A lying Content-Length cannot raise the limit: the client stops at the declared length or the cap.
    server.route("/lies", headers={"Content-Length": "10"}, body=b"y" * 50_000)
    response = get(server.url("/lies"), max_bytes=1000)
    assert len(response.body) <= 1000


def test_gzip_bomb_is_measured_after_decompression(server: FakeHTTPServer) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000)
    assert len(bomb) < 100_000
    server.route("/bomb", headers={"Content-Encoding": "gzip"}, body=bomb)
    with pytest.raises(SourceError, match="larger than 1000000 bytes"):
        get(server.url("/bomb"), max_bytes=1_000_000)


def test_gzip_body_is_decoded(server: FakeHTTPServer) -> None:
    server.route("/gz", headers={"Content-Encoding": "gzip"}, body=gzip.compress(b"<rss/>" * 100))
    assert get(server.url("/gz")).body == b"<rss/>" * 100


def test_server_that_never_answers_times_out(server: FakeHTTPServer) -> None:
    server.route("/stuck", delay=3, body=b"late")
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match=r"no answer within 0\.3 s"):
        get(server.url("/stuck"), timeout=0.3)
    assert time.monotonic() - started < 2


def test_trickling_body_hits_the_overall_deadline(server: FakeHTTPServer) -> None:
    # Every read succeeds within the socket timeout, yet the whole download never ends.
    server.route("/trickle", body=trickle(b"<", every=0.05))
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match=r"took longer than 0\.5 s"):
        get(server.url("/trickle"), timeout=0.5)
    assert time.monotonic() - started < 2


def test_body_that_stalls_times_out(server: FakeHTTPServer) -> None:
    server.route("/stall", body=trickle(b"<rss>", every=3, count=2))
    with pytest.raises(SourceUnavailable, match="stopped sending"):
        get(server.url("/stall"), timeout=0.3)


def test_refused_connection_is_temporary() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SourceUnavailable, match="could not connect"):
        get(f"http://127.0.0.1:{port}/feed", timeout=1)


def test_permanent_redirect_reports_the_new_url(server: FakeHTTPServer) -> None:
    server.route("/old", status=301, headers={"Location": "/new"})
    server.route("/new", body=b"<rss/>")
    response = get(server.url("/old"))
    assert response.body == b"<rss/>"
    assert response.url == server.url("/new")
    assert response.permanent_url == server.url("/new")


def test_308_then_temporary_redirect_stops_at_the_temporary_one(server: FakeHTTPServer) -> None:
    server.route("/a", status=308, headers={"Location": "/b"})
    server.route("/b", status=302, headers={"Location": "/c"})
    server.route("/c", body=b"<rss/>")
    response = get(server.url("/a"))
    assert response.url == server.url("/c")
    assert response.permanent_url == server.url("/b")


def test_temporary_redirect_is_not_reported(server: FakeHTTPServer) -> None:
    server.route("/tmp", status=307, headers={"Location": "/new"})
    server.route("/new", body=b"<rss/>")
    assert get(server.url("/tmp")).permanent_url is None


def test_redirect_loop_is_an_error(server: FakeHTTPServer) -> None:
    server.route("/loop", status=302, headers={"Location": "/loop"})
    with pytest.raises(SourceError, match="redirects"):
        get(server.url("/loop"))


def test_redirect_to_a_local_file_is_refused(server: FakeHTTPServer, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    server.route("/feed", status=302, headers={"Location": secret.as_uri()})
    with pytest.raises(SourceError) as caught:
        get(server.url("/feed"))
    assert "TOP-SECRET-MARKER" not in str(caught.value)


def test_password_in_url_is_not_in_the_error(server: FakeHTTPServer) -> None:
    server.route("/private", status=401)
    url = server.url("/private").replace("http://", "http://editor:s3cret-pass@")
    with pytest.raises(SourceError) as caught:
        get(url)
    assert "s3cret-pass" not in str(caught.value)
    assert "answered 401" in str(caught.value)
    assert server.requests[0].header("Authorization") is not None


def test_unsupported_url_is_an_error() -> None:
    with pytest.raises(SourceError, match="cannot be fetched"):
        get("http://")


def test_read_path(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(b"<rss/>")
    assert read_path(feed, 100) == b"<rss/>"
    with pytest.raises(SourceError, match="larger than 3 bytes"):
        read_path(feed, 3)
    with pytest.raises(SourceError, match="does not exist"):
        read_path(tmp_path / "nope.xml", 100)
    with pytest.raises(SourceError, match="directory"):
        read_path(tmp_path, 100)
