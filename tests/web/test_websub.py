"""WebSub end to end over loopback: a feed advertises a fake hub, distro subscribes, the hub verifies
intent against the real web app (uvicorn), pushes signed content, and leases are renewed. Callbacks carry a
per-subscription secret; a forged denial or lease, or a replayed verification, changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa
import time_machine
import uvicorn

from distro.app import App, build_app
from distro.db import session_scope, upgrade
from distro.models import Article, WebSubSubscription, utcnow
from distro.services.ingest import ingest
from distro.services.websub import renew_websub_leases
from distro.settings import Settings, SourceSettings
from distro.sources.websub import hub_secret
from distro.store.articles import FRESH
from distro.web.app import create_web_app
from tests.fakes.http_server import FakeHTTPServer, RecordedRequest, Reply, http_server
from tests.services.test_sources_ingest import rss


class FakeHub:
    """A hub on loopback: on subscribe it verifies intent at the callback before answering 202."""

    def __init__(self, server: FakeHTTPServer) -> None:
        self.server = server
        self.forms: list[dict[str, str]] = []
        self.verifications: list[tuple[int, str, str]] = []  # (status, body, challenge sent)
        self.lease = "86400"  # what the hub grants, as sent in hub.lease_seconds
        self.deny = False  # answer with a denial instead of a verification
        self.broken = False  # answer 500 to subscription requests, verifying nothing
        server.route("/hub", handler=self.subscribe)

    def subscribe(self, request: RecordedRequest) -> Reply:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        self.forms.append(form)
        if self.broken:
            return Reply(500, body=b"hub down")
        challenge = f"challenge-{len(self.forms)}"
        params = {
            "hub.mode": form["hub.mode"],
            "hub.topic": form["hub.topic"],
            "hub.challenge": challenge,
            "hub.lease_seconds": self.lease,
        }
        if self.deny:
            params = {"hub.mode": "denied", "hub.topic": form["hub.topic"], "hub.reason": "not today"}
        answer = requests.get(form["hub.callback"], params=params, timeout=10)
        self.verifications.append((answer.status_code, answer.text, challenge))
        return Reply(202)

    def push(
        self,
        body: bytes,
        *,
        secret: str | None = None,
        algorithm: str = "sha256",
        callback: str | None = None,
    ) -> requests.Response:
        form = self.forms[-1]
        key = (secret or form["hub.secret"]).encode()
        signature = f"{algorithm}=" + hmac.new(key, body, getattr(hashlib, algorithm)).hexdigest()
        headers = {"X-Hub-Signature": signature, "Content-Type": "application/rss+xml"}
        return requests.post(callback or form["hub.callback"], data=body, headers=headers, timeout=10)


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
    running: tuple[App, FakeHub, FakeHTTPServer], clock: time_machine.Traveller
) -> None:
    # The clock is pinned from the first poll on: the lease's expiry and "23 hours later" are exact.
    app, hub, server = running
    server.route("/feed", body=rss(("a", "20"), hub=server.url("/hub")))
    [report] = ingest(app)
    assert report.error is None
    [form] = hub.forms
    assert form["hub.mode"] == "subscribe" and form["hub.topic"] == server.url("/feed")
    sub = subscription(app)
    callback = urlsplit(form["hub.callback"]).path
    assert re.fullmatch(rf"/websub/{sub.id}/[0-9a-f]{{32}}", callback)  # a secret per subscription
    assert form["hub.callback"] == app.settings.web.public_url + callback
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


def subscribed(running: tuple[App, FakeHub, FakeHTTPServer]) -> tuple[App, FakeHub, WebSubSubscription]:
    app, hub, server = running
    server.route("/feed", body=rss(("a", "20"), hub=server.url("/hub")))
    [report] = ingest(app)
    assert report.error is None
    return app, hub, subscription(app)


def test_a_forged_denial_or_lease_changes_nothing(
    running: tuple[App, FakeHub, FakeHTTPServer], clock: time_machine.Traveller
) -> None:
    app, hub, sub = subscribed(running)
    assert sub.state == "active" and sub.lease_seconds == 86400
    base, topic = app.settings.web.public_url, sub.topic
    denial = {"hub.mode": "denied", "hub.topic": topic}
    # The old guessable URL, and a wrong secret: unknown callbacks.
    assert requests.get(f"{base}/websub/{sub.id}", params=denial, timeout=10).status_code == 404
    assert requests.get(f"{base}/websub/{sub.id}/{'0' * 32}", params=denial, timeout=10).status_code == 404
    # The right URL (say it leaked), but no request of ours is awaiting verification: a replayed
    # verification with a forged lease is refused.
    forged = {"hub.mode": "subscribe", "hub.topic": topic, "hub.challenge": "x", "hub.lease_seconds": "1"}
    assert requests.get(hub.forms[-1]["hub.callback"], params=forged, timeout=10).status_code == 404
    assert requests.get(f"{base}/websub/{sub.id}", params=forged, timeout=10).status_code == 404
    after = subscription(app)
    assert (after.state, after.lease_seconds, after.expires_at) == ("active", 86400, sub.expires_at)
    assert hub.push(rss(("b", "24"))).status_code == 202  # the genuine push is still taken


def test_a_non_ascii_signature_is_ignored_not_a_500(
    running: tuple[App, FakeHub, FakeHTTPServer], clock: time_machine.Traveller
) -> None:
    app, hub, _sub = subscribed(running)
    headers = {"X-Hub-Signature": "sha256=\u00e9t\u00e9".encode("latin-1")}  # compare_digest raised TypeError
    answer = requests.post(hub.forms[-1]["hub.callback"], data=rss(("c", "25")), headers=headers, timeout=10)
    assert answer.status_code == 202 and "ignored" in answer.json()["note"]


def test_a_denial_from_the_hub_ends_the_subscription(
    running: tuple[App, FakeHub, FakeHTTPServer], clock: time_machine.Traveller
) -> None:
    app, hub, server = running
    hub.deny = True
    server.route("/feed", body=rss(("a", "20"), hub=server.url("/hub")))
    ingest(app)
    assert hub.verifications[-1][0] == 200
    sub = subscription(app)
    assert sub.state == "denied" and "not today" in (sub.last_error or "")
    assert hub.push(rss(("b", "24"))).status_code == 410  # tells the hub to stop
    assert renew_websub_leases(app, now=utcnow() + timedelta(days=30)) == []


@pytest.mark.parametrize(
    ("granted", "status", "lease"),
    [
        ("99999999999999999999", 400, None),  # was an OverflowError: a 500
        ("\u00b2", 400, None),  # isdigit() takes it, int() does not
        ("a week", 400, None),
        ("9999999999", 200, 7 * 24 * 3600),  # never longer than we asked for
        ("1", 200, 300),  # never shorter than 300 s
        ("", 200, 7 * 24 * 3600),  # missing: what we asked for
    ],
)
def test_leases_are_read_strictly_and_clamped(
    running: tuple[App, FakeHub, FakeHTTPServer],
    clock: time_machine.Traveller,
    granted: str,
    status: int,
    lease: int | None,
) -> None:
    app, hub, server = running
    hub.lease = granted
    server.route("/feed", body=rss(("a", "20"), hub=server.url("/hub")))
    ingest(app)
    assert hub.verifications[-1][0] == status
    sub = subscription(app)
    assert sub.lease_seconds == lease
    assert sub.state == ("active" if status == 200 else "pending")
    if lease is not None:
        assert sub.expires_at == utcnow() + timedelta(seconds=lease)


def test_old_callbacks_work_until_the_subscription_moves_to_a_secret_url(
    running: tuple[App, FakeHub, FakeHTTPServer], clock: time_machine.Traveller
) -> None:
    """A row from before secret callbacks (no nonce) keeps /websub/<id> until its next request, which the
    next poll makes at once; the old URL then answers 410 so the hub drops it."""
    app, hub, server = running
    with session_scope(app.engine) as session:
        session.add(
            WebSubSubscription(
                source_name="mag",
                topic=server.url("/feed"),
                hub=server.url("/hub"),
                state="active",
                lease_seconds=86400,
                expires_at=utcnow() + timedelta(days=1),
            )
        )
    sub = subscription(app)
    old = f"{app.settings.web.public_url}/websub/{sub.id}"
    hub.forms.append({"hub.callback": old, "hub.secret": hub_secret(app.signing_key, sub.topic)})
    assert hub.push(rss(("a", "20"))).status_code == 202  # the old callback still takes pushes
    server.route("/feed", body=rss(("a", "20"), hub=server.url("/hub")))
    ingest(app)  # due at once: asked again with a secret callback
    assert hub.forms[-1]["hub.callback"] != old and hub.verifications[-1][0] == 200
    assert subscription(app).callback_nonce is not None
    assert hub.push(rss(("b", "24")), callback=old).status_code == 410
    assert hub.push(rss(("b", "24"))).status_code == 202


def test_an_old_callback_stays_while_the_hub_cannot_be_asked_again(
    running: tuple[App, FakeHub, FakeHTTPServer], clock: time_machine.Coordinates
) -> None:
    app, hub, server = running
    with session_scope(app.engine) as session:
        session.add(
            WebSubSubscription(
                source_name="mag", topic=server.url("/feed"), hub=server.url("/hub"), state="active"
            )
        )
    sub = subscription(app)
    old = f"{app.settings.web.public_url}/websub/{sub.id}"
    hub.broken = True
    server.route("/feed", body=rss(("a", "20"), hub=server.url("/hub")))
    ingest(app)  # the request to move it fails: the hub still has the old callback
    after = subscription(app)
    assert after.state == "active" and after.callback_nonce is None and "500" in (after.last_error or "")
    hub.forms.append({"hub.callback": old, "hub.secret": hub_secret(app.signing_key, sub.topic)})
    assert hub.push(rss(("b", "24"))).status_code == 202


def test_migration_0015_keeps_old_callbacks_and_awaits_requests_already_sent(database_url: str) -> None:
    """Rows from before secret callbacks get no nonce (their /websub/<id> keeps working) and, when a
    request was sent and not yet verified, await its verification there."""
    from alembic import command
    from alembic.config import Config

    from distro.db import MIGRATIONS, make_engine

    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    rows = {  # topic: (state, requested_at, verified_at)
        "pending": ("pending", "2026-11-20 07:00:00", None),
        "renewing": ("active", "2026-11-26 07:00:00", "2026-11-20 07:00:00"),
        "verified": ("active", "2026-11-20 07:00:00", "2026-11-20 07:00:05"),
    }
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        for topic, (state, requested, verified) in rows.items():
            connection.execute(
                sa.text(
                    "INSERT INTO websubsubscription (source_name, topic, hub, state, requested_at,"
                    " verified_at) VALUES ('mag', :topic, 'https://hub.example/', :state, :requested,"
                    " :verified)"
                ),
                {"topic": topic, "state": state, "requested": requested, "verified": verified},
            )
    upgrade(engine)
    with engine.connect() as connection:
        query = sa.text("SELECT topic, awaiting, callback_nonce FROM websubsubscription")
        migrated = {topic: (awaiting, nonce) for topic, awaiting, nonce in connection.execute(query)}
    engine.dispose()
    assert migrated == {
        "pending": ("subscribe", None),
        "renewing": ("subscribe", None),
        "verified": (None, None),
    }
