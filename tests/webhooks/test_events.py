"""Each event, end to end through the real use cases into the verifying receiver: a CSV import and a
sign-up, ingest, an edition queued and sent over SMTP to aiosmtpd (one address refused, one message
refused), bounce and complaint reports, an unsubscribe click, and Mastodon posts through its wire fake."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import requests
import sqlalchemy as sa
import time_machine
from pydantic import SecretStr
from sqlmodel import select

from distro.app import App, build_app, make_channel
from distro.channels.base import Channel
from distro.channels.mastodon import MastodonChannel
from distro.db import session_scope, upgrade
from distro.feedback.report import Feedback, Kind, Source
from distro.models import Signup, Subscriber, WebhookEvent
from distro.services import preferences
from distro.services.bounces import record_feedback
from distro.services.delivery import dispatch
from distro.services.digest_send import send_edition
from distro.services.ingest import ingest
from distro.services.jobs import run_once
from distro.services.social import plan_social
from distro.services.subscribers import add_subscriber, import_csv
from distro.settings import Settings
from tests.conftest import EXAMPLE_SUBSCRIBERS
from tests.fakes import mastodon_api
from tests.fakes.smtp_server import running_smtp_server
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.usefixtures("clock")
REFUSED = "reader.1987@example.org"  # its server refuses the address at RCPT: a hard bounce
REJECTED = "claire.dubois@example.com"  # its server refuses the message at DATA: a failed delivery


def _subscriber_id(app: App, email: str) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(sa.select(Subscriber.id).where(Subscriber.email == email)).scalar_one())  # type: ignore[arg-type]


def test_an_edition_over_smtp_reports_every_step(hooked_settings: Settings, receiver: Receiver) -> None:
    hooked_settings.x.enabled = hooked_settings.facebook.enabled = False
    replies: dict[str, Any] = {
        "rcpt_replies": {REFUSED: "550 5.1.1 No such user"},
        "data_replies": {REJECTED: "554 5.7.1 Message refused"},
    }
    with running_smtp_server(**replies) as server:
        s = hooked_settings
        s.email.mode, s.smtp.host, s.smtp.port, s.smtp.security = "smtp", server.host, server.port, "none"
        s.email.unsafe_test_relay = True  # aiosmtpd on loopback: no DKIM, http links
        app = build_app(s)
        upgrade(app.engine)
        import_csv(app, EXAMPLE_SUBSCRIBERS)
        summary = run_once(app)
        dispatch(app, ["webhook"])
        assert summary.dispatched["email"].sent == 3 and len(server.messages) == 3
    app.engine.dispose()

    assert not receiver.refused
    assert Counter(e.type for e in receiver.events) == {
        "article.published": 12,
        "subscriber.created": 5,
        "edition.queued": 1,
        "delivery.bounced": 1,
        "delivery.failed": 1,
        "edition.sent": 1,
    }
    created = {e.data["email"] for e in receiver.of_type("subscriber.created")}
    assert REFUSED in created and len(created) == 5
    (queued,) = receiver.of_type("edition.queued")
    assert queued.data["slug"] == "weekly-2026-W48" and queued.data["recipients"] == 5
    (bounced,) = receiver.of_type("delivery.bounced")
    assert (
        bounced.data["email"] == REFUSED
        and bounced.data["kind"] == "hard"
        and "5.1.1" in bounced.data["error"]
    )
    (failed,) = receiver.of_type("delivery.failed")
    assert failed.data["email"] == REJECTED and "554" in failed.data["error"]
    (sent,) = receiver.of_type("edition.sent")
    assert sent.data["deliveries"] == {"sent": 3, "failed": 2} and sent.data["id"] == queued.data["id"]
    for event in receiver.of_type("article.published") + [queued, sent]:
        assert "@" not in str(event.data.get("email", "")) and "email" not in event.data


def test_bounce_and_complaint_reports_and_an_unsubscribe_click(hooked: App, receiver: Receiver) -> None:
    for address in ("a@example.org", "b@example.org", "c@example.org"):
        assert add_subscriber(hooked, address)
    record_feedback(
        hooked, Feedback(Kind.HARD, Source.DSN, "a@example.org", "5.1.1", "no such user", None, "r1")
    )
    record_feedback(
        hooked, Feedback(Kind.HARD, Source.DSN, "a@example.org", "5.1.1", "no such user", None, "r1")
    )
    record_feedback(hooked, Feedback(Kind.COMPLAINT, Source.ARF, "b@example.org", None, "spam", None, "r2"))
    clicked = _subscriber_id(hooked, "c@example.org")
    preferences.set_status(hooked, clicked, active=False)
    preferences.set_status(hooked, clicked, active=False)  # a second click changes nothing
    dispatch(hooked, ["webhook"])

    bounces = {
        (e.data["email"], e.data["kind"], e.data["source"]) for e in receiver.of_type("delivery.bounced")
    }
    assert bounces == {("a@example.org", "hard", "dsn"), ("b@example.org", "complaint", "arf")}
    assert len(receiver.of_type("delivery.bounced")) == 2  # the report read twice counts once
    left = [(e.data["email"], e.data["status"]) for e in receiver.of_type("subscriber.unsubscribed")]
    assert sorted(left) == [("b@example.org", "unsubscribed"), ("c@example.org", "unsubscribed")]
    assert {e.data["email"] for e in receiver.of_type("subscriber.created")} == {
        "a@example.org",
        "b@example.org",
        "c@example.org",
    }


def test_mastodon_posts_published_and_failed(hooked_settings: Settings, receiver: Receiver) -> None:
    s = hooked_settings
    s.x.enabled = s.facebook.enabled = False
    s.mastodon.enabled, s.mastodon.mode = True, "api"
    s.mastodon.instance_url, s.mastodon.access_token = (
        f"https://{mastodon_api.HOST}",
        SecretStr(mastodon_api.TOKEN),
    )
    fake = mastodon_api.FakeMastodon().then(mastodon_api.Reply(422, {"error": "Validation failed: spam"}))

    def channels(name: str) -> Channel[Any]:
        if name != "mastodon":
            return make_channel(s, name, app.engine)
        session = requests.Session()
        session.mount("https://", fake)
        return MastodonChannel(s.mastodon, session=session)

    app = build_app(s, channels=channels)
    upgrade(app.engine)
    ingest(app)
    planned = plan_social(app)
    dispatch(app, ["mastodon"])
    dispatch(app, ["webhook"])
    app.engine.dispose()

    published, failed = receiver.of_type("post.published"), receiver.of_type("post.failed")
    assert (len(published), len(failed)) == (planned - 1, 1) and planned == 12
    assert {e.data["provider_id"] for e in published} == {status["id"] for status in fake.statuses}
    assert failed[0].data["platform"] == "mastodon" and "Validation failed" in failed[0].data["error"]
    assert all("email" not in e.data for e in published + failed)


def test_a_sign_up_confirmed_is_created_and_forgetting_deletes_the_readers_events(
    hooked: App, receiver: Receiver
) -> None:
    from distro.services.privacy import forget_subscriber
    from distro.services.signup import confirm, confirm_url, request_signup

    request_signup(hooked, "new.reader@example.org", None, None)
    with session_scope(hooked.engine) as session:
        (signup,) = session.exec(select(Signup)).all()
    confirm(hooked, confirm_url(hooked, signup).rsplit("/", 1)[1])
    with hooked.engine.connect() as connection:
        stored = connection.execute(sa.select(WebhookEvent.event, WebhookEvent.email)).all()
    assert ("subscriber.created", "new.reader@example.org") in stored

    assert forget_subscriber(hooked, "new.reader@example.org")["webhook_events"] == 1
    with hooked.engine.connect() as connection:
        assert connection.execute(sa.select(WebhookEvent.event, WebhookEvent.email)).all() == []
    dispatch(hooked, ["webhook"])
    assert receiver.events == []  # its deliveries are settled as suppressed, nothing sent


def test_edition_sent_waits_for_the_last_row_and_comes_once(
    hooked_settings: Settings, receiver: Receiver, clock: time_machine.Traveller
) -> None:
    later = "j.okonkwo@example.com"
    with running_smtp_server(data_replies={later: "451 4.3.0 Try again later"}) as server:
        s = hooked_settings
        s.email.mode, s.smtp.host, s.smtp.port, s.smtp.security = "smtp", server.host, server.port, "none"
        s.email.unsafe_test_relay = True  # aiosmtpd on loopback: no DKIM, http links
        s.dispatch.batch_size = 2  # the edition's rows are recorded over several batches
        app = build_app(s)
        upgrade(app.engine)
        import_csv(app, EXAMPLE_SUBSCRIBERS)
        ingest(app)
        send_edition(app, s.digest)
        assert dispatch(app, ["email"])["email"].sent == 4
        assert _stored(app, "edition.sent") == []  # one row is waiting for its retry
        server.data_replies.clear()
        clock.shift(timedelta(hours=2))
        assert dispatch(app, ["email"])["email"].sent == 1
        dispatch(app, ["email", "webhook"])
    app.engine.dispose()
    (sent,) = receiver.of_type("edition.sent")
    assert sent.data["deliveries"] == {"sent": 5}
    assert not receiver.of_type("delivery.failed")  # a retried row is not a failure


def _stored(app: App, event: str) -> list[str]:
    with app.engine.connect() as connection:
        return list(
            connection.execute(sa.select(WebhookEvent.uid).where(WebhookEvent.event == event)).scalars()
        )  # type: ignore[arg-type]


def test_a_post_that_cannot_fit_its_platform_is_reported_failed_at_planning(
    hooked: App, receiver: Receiver
) -> None:
    from tests.test_social_unfit import ARTICLES, hostile

    article = hostile(hooked)  # its title is 15 URLs: no X post can hold it
    assert plan_social(hooked) == 2 * ARTICLES
    assert plan_social(hooked) == 0  # planning again reports nothing again
    dispatch(hooked)

    (failed,) = receiver.of_type("post.failed")
    assert failed.data["platform"] == "x" and f"article {article} (" in failed.data["error"]
    assert len(receiver.of_type("post.published")) == 2 * ARTICLES - 1
