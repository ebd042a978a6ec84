"""A webhook receiver on loopback that verifies every request with the ``standardwebhooks`` package.

``receiver.answer`` is a list of statuses to answer in turn (the last one repeats); ``receiver.events``
holds each verified payload with its ``webhook-id``; a request whose signature does not verify is recorded
in ``receiver.refused`` and answered 401, so a test that expects events sees none.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from distro.app import App, build_app
from distro.db import upgrade
from distro.settings import Settings, SourceSettings, WebhookSettings
from tests.conftest import EXAMPLE_FEED, ROOT
from tests.fakes.http_server import FakeHTTPServer, RecordedRequest, Reply, http_server

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
SECRET_ENV = "DISTRO_TEST_WEBHOOK_SECRET"
ALL_EVENTS = [
    "article.published",
    "edition.queued",
    "edition.sent",
    "delivery.failed",
    "delivery.bounced",
    "subscriber.created",
    "subscriber.unsubscribed",
    "post.published",
    "post.failed",
]


@dataclass
class Received:
    webhook_id: str
    timestamp: str
    payload: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.payload["type"])

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.payload["data"])


@dataclass
class Receiver:
    server: FakeHTTPServer
    answer: list[int] = field(default_factory=lambda: [200])
    retry_after: str | None = None
    delay: float = 0.0  # seconds before answering (a slow receiver)
    events: list[Received] = field(default_factory=list)
    refused: list[RecordedRequest] = field(default_factory=list)
    tries: list[str] = field(default_factory=list)  # webhook-id of every request, verified or not

    @property
    def url(self) -> str:
        return self.server.url("/hook")

    def of_type(self, kind: str) -> list[Received]:
        return [event for event in self.events if event.type == kind]

    def handle(self, request: RecordedRequest) -> Reply:
        self.tries.append(request.header("webhook-id") or "")
        try:
            payload = Webhook(SECRET).verify(request.body, request.headers)
        except WebhookVerificationError:
            self.refused.append(request)
            return Reply(401, body=b"bad signature")
        status = self.answer.pop(0) if len(self.answer) > 1 else self.answer[0]
        if status < 300:
            self.events.append(
                Received(
                    request.header("webhook-id") or "", request.header("webhook-timestamp") or "", payload
                )
            )
        headers = {"Retry-After": self.retry_after} if self.retry_after and status in (429, 503) else {}
        return Reply(status, headers, json.dumps({"status": status}).encode(), delay=self.delay)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_server() as server:
        state = Receiver(server)
        server.route("/hook", handler=state.handle)
        yield state


def webhook(url: str, events: list[str] | None = None, name: str = "crm") -> WebhookSettings:
    return WebhookSettings(
        name=name,
        url=url,
        events=events or ALL_EVENTS,
        secret_env=SECRET_ENV,
        timeout=5,
        allow_private_addresses=True,  # the receiver is on loopback
    )


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)


@pytest.fixture
def hooked_settings(database_url: str, tmp_path: Path, receiver: Receiver, secret_env: None) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        templates_dir=ROOT / "templates",
        sources=[SourceSettings(name="meridian-review", url=str(EXAMPLE_FEED), backfill=12)],
        webhooks=[webhook(receiver.url)],
    )


@pytest.fixture
def hooked(hooked_settings: Settings) -> Iterator[App]:
    application = build_app(hooked_settings)
    upgrade(application.engine)
    yield application
    application.engine.dispose()
