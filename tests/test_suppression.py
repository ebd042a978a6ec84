"""The suppression list at enqueue and at send, and hard bounces counted in the attempt's transaction,
on SQLite and PostgreSQL, with real SMTP on loopback."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from distro.app import App
from distro.dispatch import dispatch_channel
from distro.models import AttemptOutcome, Delivery, Subscriber, Suppression
from distro.outbox import Outcome, claim, enqueue_many, record
from distro.services.bounces import list_events
from distro.services.delivery import dispatch, suppressing
from distro.services.messages import MessageBuilder
from distro.services.suppression import suppress, suppressed_among, unsuppress
from distro.settings import DispatchSettings
from tests.fakes.smtp_server import running_smtp_server
from tests.test_worker import add_subscribers, queue_small_digest

D = Delivery.__table__  # type: ignore[attr-defined]


def statuses(app: App) -> dict[str, str]:
    with app.engine.connect() as c:
        return dict(c.execute(sa.select(D.c.recipient, D.c.status)).all())  # type: ignore[arg-type]


def test_suppressed_addresses_are_not_queued(app: App) -> None:
    emails = add_subscribers(app, 5)
    assert suppress(app.engine, emails[1].upper(), "complaint", "FBL report")
    assert not suppress(app.engine, emails[1], "manual")  # first reason kept
    queue_small_digest(app)
    assert sorted(statuses(app)) == sorted(set(emails) - {emails[1]})


def test_an_address_suppressed_after_queueing_is_settled_without_touching_the_channel(
    app: App, tmp_path: Path
) -> None:
    emails = add_subscribers(app, 4)
    queue_small_digest(app)
    suppress(app.engine, emails[2], "manual", "editor's request")
    with running_smtp_server() as server:
        app.settings.email.mode = "smtp"
        app.settings.email.unsafe_test_relay = True  # aiosmtpd on loopback: no DKIM, http links
        app.settings.smtp.host, app.settings.smtp.port = server.host, server.port
        app.settings.smtp.security = "none"
        report = dispatch(app, ["email"])["email"]
    assert (report.sent, report.suppressed) == (3, 1)
    assert sorted(r for m in server.messages for r in m.rcpt_tos) == sorted(set(emails) - {emails[2]})
    with app.engine.connect() as c:
        row = c.execute(sa.select(D).where(D.c.recipient == emails[2])).one()
    assert row.status == "suppressed" and "suppression list (manual)" in row.last_error


def test_hard_bounces_count_per_subscriber_and_suppress_at_the_limit(app: App) -> None:
    emails = add_subscribers(app, 2)
    with app.engine.connect() as c:
        ids = dict(c.execute(sa.select(Subscriber.email, Subscriber.id)).all())  # type: ignore[call-overload]
    settings = DispatchSettings(hard_bounce_limit=2)
    for round_ in range(2):
        enqueue_many(
            app.engine,
            [
                {"key": f"b{round_}:{e}", "channel": "email", "recipient": e, "subscriber_id": ids[e]}
                for e in emails
            ],
        )
        batch = claim(app.engine, channel="email", worker="w", limit=10, lease_seconds=60)
        outcomes = [
            Outcome(
                c,
                AttemptOutcome.PERMANENT,
                error="550 5.1.1 No such user",
                hard_bounce=c.recipient == emails[0],
            )
            for c in batch
        ]
        record(app.engine, outcomes, worker="w", settings=settings)
        assert bool(suppressed_among(app.engine, [emails[0]])) == (round_ == 1)
    with app.engine.connect() as c:
        bounces = dict(c.execute(sa.select(Subscriber.email, Subscriber.hard_bounces)).all())  # type: ignore[call-overload]
        reason, detail = c.execute(sa.select(Suppression.reason, Suppression.detail)).one()
    assert bounces == {emails[0]: 2, emails[1]: 0}
    assert reason == "hard_bounce" and "550 5.1.1" in detail
    assert unsuppress(app.engine, emails[0]) and not suppressed_among(app.engine, [emails[0]])


def test_a_5xx_at_rcpt_fails_only_that_recipient_and_is_recorded(app: App) -> None:
    emails = add_subscribers(app, 3)
    queue_small_digest(app)
    with running_smtp_server(rcpt_replies={emails[1]: "550 5.1.1 No such user"}) as server:
        app.settings.email.mode = "smtp"
        app.settings.email.unsafe_test_relay = True  # aiosmtpd on loopback: no DKIM, http links
        app.settings.smtp.host, app.settings.smtp.port = server.host, server.port
        app.settings.smtp.security = "none"
        channels = [app.channel_factory("email"), app.channel_factory("email")]
        report = dispatch_channel(
            engine=app.engine,
            channel=channels,
            build=suppressing(app.engine, MessageBuilder(app)),
            settings=app.settings.dispatch,
            worker="w",
        )
        for channel in channels:
            channel.close()
    assert (report.sent, report.permanent) == (2, 1)
    assert statuses(app) == {emails[0]: "sent", emails[1]: "failed", emails[2]: "sent"}
    assert suppressed_among(app.engine, [emails[1]]) == {emails[1]: "hard_bounce"}  # limit 1 by default
    # The refusal is an event too (source smtp), beside the bounces that come back later.
    (event,) = list_events(app)
    assert (event.email, event.kind, event.status, event.source, event.action) == (
        emails[1],
        "hard",
        "5.1.1",
        "smtp",
        "suppressed",
    )
    assert "550 5.1.1 No such user" in (event.diagnostic or "")
