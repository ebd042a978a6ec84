"""Dispatch through real channels: per-recipient SMTP faults end in the right state with the right number of
attempts; a channel that cannot work pauses without failing its messages; X and Facebook in API mode go
through tweepy and requests-oauthlib into fakes that verify signatures and tokens."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from pydantic import SecretStr
from requests_oauthlib import OAuth2Session

from distro.app import App, build_app, make_channel
from distro.channels.base import Channel
from distro.channels.facebook import FacebookChannel
from distro.channels.smtp import SmtpChannel
from distro.channels.x import XChannel, make_client
from distro.db import upgrade
from distro.models import ChannelPause, Delivery, DeliveryAttempt, SocialPost
from distro.services.delivery import delivery_log, dispatch
from distro.services.digest_compose import open_edition
from distro.services.digest_send import queue_edition
from distro.services.ingest import ingest
from distro.services.social import plan_social
from distro.services.subscribers import add_subscriber
from distro.settings import Settings
from tests.fakes import graph_api, x_api
from tests.fakes.smtp_server import DROP, FakeSmtpServer, make_tls, running_smtp_server

FAULTS = {
    "busy@example.org": "421 4.3.2 Service shutting down",
    "later@example.org": "451 4.3.0 Try again later",
    "gone@example.org": "550 5.1.1 No such user",
    "flaky@example.org": DROP,
}
HEALTHY = [f"reader{i}@example.org" for i in range(6)]


@pytest.fixture
def smtp_app(settings: Settings) -> Iterator[tuple[App, FakeSmtpServer]]:
    with running_smtp_server(rcpt_replies=FAULTS) as server:
        settings.email.mode = "smtp"
        settings.email.unsafe_test_relay = True  # aiosmtpd on loopback: no DKIM, http links
        settings.smtp.host, settings.smtp.port, settings.smtp.security = server.host, server.port, "none"
        settings.x.enabled = settings.facebook.enabled = False
        settings.dispatch.max_attempts = 3
        app = build_app(settings)
        upgrade(app.engine)
        ingest(app)
        yield app, server
        app.engine.dispose()


def queue(app: App, addresses: list[str]) -> None:
    for address in addresses:
        add_subscriber(app, address)
    result = open_edition(app, app.settings.digest)
    assert result.digest is not None
    queue_edition(app, app.settings.digest, result.digest)


def retry_everything_now(app: App) -> None:
    with app.engine.begin() as c:
        c.execute(
            sa.update(Delivery)
            .where(Delivery.status == "pending")
            .values(
                next_attempt_at=sa.func.now()
                if app.engine.dialect.name == "postgresql"
                else sa.text("'2000-01-01 00:00:00'")
            )
        )


def test_smtp_faults_end_in_the_right_state_and_spare_everyone_else(
    smtp_app: tuple[App, FakeSmtpServer],
) -> None:
    app, server = smtp_app
    queue(app, HEALTHY[:3] + list(FAULTS) + HEALTHY[3:])
    first = dispatch(app)["email"]
    assert (first.sent, first.permanent, first.temporary) == (6, 1, 3)
    for _ in range(2):
        retry_everything_now(app)
        dispatch(app)
    state = {e.recipient: (e.status, e.attempts) for e in delivery_log(app)}
    assert {a: state[a] for a in HEALTHY} == {a: ("sent", 1) for a in HEALTHY}
    assert state["gone@example.org"] == ("failed", 1)
    for address in ("busy@example.org", "later@example.org", "flaky@example.org"):
        assert state[address] == ("failed", 3)
    failed = {e.recipient: e.last_error for e in delivery_log(app, status="failed")}
    assert "550 5.1.1" in (failed["gone@example.org"] or "")
    assert "gave up after 3 attempts" in (failed["later@example.org"] or "")
    assert sorted(m.rcpt_tos[0] for m in server.messages) == sorted(HEALTHY)
    with app.engine.connect() as c:
        assert (
            c.execute(sa.select(sa.func.count()).select_from(DeliveryAttempt)).scalar_one() == 6 + 1 + 3 * 3
        )


def test_a_rejected_login_pauses_the_channel_and_keeps_every_message(settings: Settings) -> None:
    tls = make_tls()
    with running_smtp_server(credentials=("digest", "right"), tls=tls) as server:
        settings.email.mode = "smtp"
        settings.email.unsafe_test_relay = True  # aiosmtpd on loopback: no DKIM, http links
        settings.smtp.host, settings.smtp.port, settings.smtp.security = server.host, server.port, "starttls"
        settings.smtp.username, settings.smtp.password = "digest", SecretStr("wrong-password")
        settings.x.enabled = settings.facebook.enabled = False
        app = build_app(
            settings, channels=lambda name: SmtpChannel(settings.smtp, ssl_context=tls.client_context)
        )
        upgrade(app.engine)
        ingest(app)
        queue(app, HEALTHY)
        report = dispatch(app)["email"]
    assert report.sent == 0 and report.paused == ["email"]
    log = delivery_log(app)
    assert {(e.status, e.attempts) for e in log} == {("pending", 0)}
    errors = [e.last_error for e in log if e.last_error]
    assert len(errors) == 1 and "refused the login" in errors[0] and "wrong-password" not in errors[0]
    with app.engine.connect() as c:
        outcomes = c.execute(sa.select(DeliveryAttempt.outcome)).scalars().all()
    assert outcomes == ["channel_down"]
    app.engine.dispose()


class FakeChannels:
    """Real XChannel/FacebookChannel objects whose HTTP sessions end in the verifying fakes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.x = x_api.FakeXAPI()
        self.graph = graph_api.FakeGraphAPI()

    def __call__(self, name: str) -> Channel[Any]:
        if name == "x":
            client = make_client(self.settings.x)
            client.session.mount("https://", self.x)
            return XChannel(self.settings.x, client=client)
        if name == "facebook":
            session = OAuth2Session()
            session.mount("https://", self.graph)
            return FacebookChannel(self.settings.facebook, session=session)
        return make_channel(self.settings, name)


def test_posts_go_through_tweepy_and_requests_oauthlib_with_the_planned_bodies(settings: Settings) -> None:
    settings.x.mode = settings.facebook.mode = "api"
    settings.x.api_key, settings.x.api_secret = (
        SecretStr(x_api.CONSUMER_KEY),
        SecretStr(x_api.CONSUMER_SECRET),
    )
    settings.x.access_token = SecretStr(x_api.ACCESS_TOKEN)
    settings.x.access_token_secret = SecretStr(x_api.ACCESS_TOKEN_SECRET)
    settings.facebook.page_id = graph_api.PAGE_ID
    settings.facebook.page_access_token = SecretStr(graph_api.PAGE_TOKEN)
    settings.facebook.app_secret = SecretStr(graph_api.APP_SECRET)
    fakes = FakeChannels(settings)
    app = build_app(settings, channels=fakes)
    upgrade(app.engine)
    ingest(app)
    assert plan_social(app) == 24
    reset = int(time.time()) + 900
    fakes.x.then(x_api.too_many_requests(reset))  # the first tweet meets the 15-minute window limit
    reports = dispatch(app, ["x", "facebook"])
    # The window is used up: the account pauses until X's reset, not just the one row.
    assert (reports["x"].sent, reports["x"].temporary, reports["facebook"].sent) == (0, 1, 12)
    assert reports["x"].paused == ["x"]
    tries = len(fakes.x.seen)
    with app.engine.connect() as c:
        pause = c.execute(sa.select(ChannelPause.channel, ChannelPause.until)).one()
        waiting = c.execute(
            sa.select(Delivery.attempts, Delivery.next_attempt_at).where(Delivery.channel == "x")
        ).all()
    assert pause.channel == "x" and abs(pause.until.timestamp() - reset) < 5
    assert len(waiting) == 12 and all(w.attempts == 0 for w in waiting)  # a pause is nobody's try
    assert sorted(abs(w.next_attempt_at.timestamp() - reset) < 5 for w in waiting) == [False] * 11 + [True]
    assert dispatch(app, ["x"])["x"].paused == ["x"]  # every run honours the pause until the reset
    assert len(fakes.x.seen) == tries

    with time_machine.travel(reset + 5, tick=True):
        assert dispatch(app, ["x"])["x"].sent == 12

    with app.engine.connect() as c:
        bodies = {
            row.key: row
            for row in c.execute(
                sa.select(
                    Delivery.key,
                    Delivery.status,
                    Delivery.provider_id,
                    Delivery.next_attempt_at,
                    SocialPost.body,
                ).join(SocialPost, SocialPost.id == Delivery.social_post_id)
            )
        }
    sent_x = [s.json() for s in fakes.x.seen if s.status == 201]
    x_bodies = [b.body for k, b in bodies.items() if ":x:" in k and b.status == "sent"]
    assert sorted(json.dumps(b, sort_keys=True) for b in sent_x) == sorted(
        json.dumps(b, sort_keys=True) for b in x_bodies
    )
    tweet_ids = {b.provider_id for k, b in bodies.items() if ":x:" in k and b.status == "sent"}
    assert len(tweet_ids) == 12 and all(i and i.isdigit() for i in tweet_ids)
    assert all(s.timeout for s in fakes.x.seen)
    fb_ids = {b.provider_id for k, b in bodies.items() if ":facebook:" in k}
    assert len(fb_ids) == 12 and all(i.startswith(graph_api.PAGE_ID + "_") for i in fb_ids)
    app.engine.dispose()
