"""WebSub end to end over loopback: a feed advertises a fake hub, distro subscribes, the hub verifies
intent against the real web app (uvicorn), pushes signed content, and leases are renewed."""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import requests
import sqlalchemy as sa
import time_machine
import uvicorn

from distro.app import App, build_app
from distro.db import session_scope, upgrade
from distro.models import Article, WebSubSubscription, utcnow
from distro.services.ingest import FRESH, ingest
from distro.services.websub import renew_websub_leases
from distro.settings import Settings, SourceSettings
from distro.web.app import create_web_app
from tests.fakes.http_server import FakeHTTPServer, RecordedRequest, Reply, http_server
from tests.services.test_sources_ingest import rss


class FakeHub:
    """A hub on loopback: on subscribe it verifies intent at the callback before answering 202."""

    def __init__(self, server: FakeHTTPServer) -> None:
        self.server = server
        self.forms: list[dict[str, str]] = []
        self.verifications: list[tuple[int, str, str]] = []  # (status, body, challenge sent)
        server.route("/hub", handler=self.subscribe)

    def subscribe(self, request: RecordedRequest) -> Reply:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        self.forms.append(form)
        challenge = f"challenge-{len(self.forms)}"
        params = {
            "hub.mode": form["hub.mode"],
            "hub.topic": form["hub.topic"],
            "hub.challenge": challenge,
            "hub.lease_seconds": "86400",
        }
        answer = requests.get(form["hub.callback"], params=params, timeout=10)
        self.verifications.append((answer.status_code, answer.text, challenge))
        return Reply(202)

    def push(self, body: bytes, *, secret: str | None = None, algorithm: str = "sha256") -> requests.Response:
        form = self.forms[-1]
        key = (secret or form["hub.secret"]).encode()
        signature = f"{algorithm}=" + hmac.new(key, body, getattr(hashlib, algorithm)).hexdigest()
        headers = {"X-Hub-Signature": signature, "Content-Type": "application/rss+xml"}
        return requests.post(form["hub.callback"], data=body, headers=headers, timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def running(settings: Settings) -> Iterator[tuple[App, FakeHub, FakeHTTPServer]]:
    port = free_port()
    with http_server() as server:
        source = SourceSettings(name="mag", url=server.url("/feed"), allow_private_addresses=True)
        web = settings.web.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
        app = build_app(settings.model_copy(update={"sources": [source], "web": web}))
        upgrade(app.engine)
        config = uvicorn.Config(create_web_app(app), host="127.0.0.1", port=port, log_level="warning")
        uvi = uvicorn.Server(config)
        thread = threading.Thread(target=uvi.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not uvi.started and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            yield app, FakeHub(server), server
        finally:
            uvi.should_exit = True
            thread.join(timeout=10)
            app.engine.dispose()


def subscription(app: App) -> WebSubSubscription:
    with session_scope(app.engine) as session:
        return session.exec(sa.select(WebSubSubscription)).scalars().one()  # type: ignore[call-overload,no-any-return]


def test_subscribe_verify_push_and_renew(
    running: tuple[App, FakeHub, FakeHTTPServer], clock: time_machine.Coordinates
) -> None:
    # The clock is pinned from the first poll on: the lease's expiry and "23 hours later" are exact.
    app, hub, server = running
    server.route("/feed", body=rss(("a", "20"), hub=server.url("/hub")))
    [report] = ingest(app)
    assert report.error is None
    [form] = hub.forms
    assert form["hub.mode"] == "subscribe" and form["hub.topic"] == server.url("/feed")
    assert form["hub.callback"].startswith(app.settings.web.public_url + "/websub/")
    assert len(form["hub.secret"]) >= 32
    assert hub.verifications == [(200, "challenge-1", "challenge-1")]  # challenge echoed
    sub = subscription(app)
    assert sub.state == "active" and sub.lease_seconds == 86400 and sub.expires_at is not None

    ingest(app)  # a second poll does not subscribe again
    assert len(hub.forms) == 1

    assert hub.push(rss(("b", "24"), ("a", "20"))).status_code == 202
    forged = hub.push(rss(("evil", "24")), secret="not-the-secret")
    assert forged.status_code == 202 and "ignored" in forged.json()["note"]
    with app.engine.connect() as connection:
        fresh = connection.execute(sa.select(Article.url).where(FRESH)).scalars().all()
    assert fresh == ["https://mag.example/b"]  # the pushed story is news; the forged one was dropped

    assert renew_websub_leases(app) == []  # nothing due yet
    assert [s.state for s in renew_websub_leases(app, now=utcnow() + timedelta(hours=23))] == ["active"]
    assert len(hub.forms) == 2 and hub.verifications[-1][0] == 200


def test_unknown_callbacks_and_unexpected_modes_are_refused(
    running: tuple[App, FakeHub, FakeHTTPServer],
) -> None:
    app, _hub, _server = running
    base = app.settings.web.public_url
    params = {"hub.mode": "subscribe", "hub.topic": "https://x.example/feed", "hub.challenge": "c"}
    assert requests.get(f"{base}/websub/999", params=params, timeout=10).status_code == 404
    assert requests.post(f"{base}/websub/999", data=b"<rss/>", timeout=10).status_code == 410
