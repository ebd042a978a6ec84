"""The whole job, end to end, on SQLite and PostgreSQL: feed -> articles -> digest + posts -> outbox ->
channels -> log. File sinks here; SMTP into a real server on loopback below. Each test runs at the pinned
instant of the ``clock`` fixture: the articles arrive, the edition is composed and the posts are planned
then, not at whatever hour the suite happens to run."""

from __future__ import annotations

import email
import json
from email import policy
from email.message import EmailMessage
from pathlib import Path

import sqlalchemy as sa
import time_machine

from distro.app import App, build_app
from distro.db import upgrade
from distro.models import Article, Delivery, DeliveryAttempt, Subscriber, SubscriberStatus
from distro.platforms.x import length as weighted_length
from distro.services.delivery import delivery_log, dispatch
from distro.services.jobs import run_once
from distro.services.subscribers import import_csv
from distro.settings import Settings
from distro.tokens import read_token
from tests.conftest import EXAMPLE_SUBSCRIBERS
from tests.fakes.smtp_server import running_smtp_server


def files(directory: Path, pattern: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.glob(pattern))}


def parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


def test_main_job_sends_everything_once_and_logs_it(app: App, clock: time_machine.Traveller) -> None:
    report = import_csv(app, EXAMPLE_SUBSCRIBERS)
    assert report.added == 5 and not report.rejected
    summary = run_once(app)

    assert [(r.new, r.error) for r in summary.ingested] == [(12, None)]
    weekly = summary.digests["weekly"]
    assert weekly.digest is not None and weekly.digest.slug == "weekly-2026-W48"  # the clock's Friday
    assert weekly.queued == weekly.recipients == 5 and summary.social_rows == 24
    assert {name: r.sent for name, r in summary.dispatched.items()} == {"email": 5, "x": 12, "facebook": 12}

    emails = files(app.settings.email_dir, "*.eml")
    x_posts = files(app.settings.social_dir / "x", "*.json")
    fb_posts = files(app.settings.social_dir / "facebook", "*.json")
    assert (len(emails), len(x_posts), len(fb_posts)) == (5, 12, 12)

    recipients = set()
    message_ids = set()
    for data in emails.values():
        message = parse(data)
        assert message.get_content_type() == "multipart/alternative"
        parts = [p.get_content_type() for p in message.iter_parts()]
        assert parts == ["text/plain", "text/html"]
        recipients.add(message["To"].addresses[0].addr_spec)
        message_ids.add(message["Message-ID"])
        assert message["Date"] and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = message["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
        token = url.rsplit("/", 1)[1].split("?", 1)[0]
        subscriber_id = read_token(app.signing_key, "unsubscribe", token)
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert url in html and url in text
        with app.engine.connect() as c:
            owner = c.execute(sa.select(Subscriber.email).where(Subscriber.id == subscriber_id)).scalar_one()
        assert owner == message["To"].addresses[0].addr_spec
    assert len(recipients) == 5 and len(message_ids) == 5

    for data in x_posts.values():
        body = json.loads(data)
        assert set(body) == {"text"} and weighted_length(body["text"]) <= 280
        assert "https://meridian-review.example/" in body["text"]
    for data in fb_posts.values():
        body = json.loads(data)
        assert set(body) == {"message", "link"} and body["link"].startswith(
            "https://meridian-review.example/"
        )

    log = delivery_log(app)
    assert len(log) == 29 and {e.status for e in log} == {"sent"}
    assert all(e.provider_id for e in log)

    # Running it again sends nothing twice: no new rows, no new files, no new attempts.
    mtimes = {p: p.stat().st_mtime_ns for p in app.settings.var_dir.rglob("*.*") if "outbox" in p.parts}
    again = run_once(app)
    assert again.digests["weekly"].queued == 0 and again.social_rows == 0
    assert all(r.sent == 0 for r in again.dispatched.values())
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    with app.engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(Delivery)).scalar_one() == 29
        assert c.execute(sa.select(sa.func.count()).select_from(DeliveryAttempt)).scalar_one() == 29
        assert c.execute(sa.select(sa.func.count()).select_from(Article)).scalar_one() == 12


def test_an_unsubscribed_reader_is_suppressed_even_after_queueing(
    app: App, clock: time_machine.Traveller
) -> None:
    import_csv(app, EXAMPLE_SUBSCRIBERS)
    app.settings.x.enabled = app.settings.facebook.enabled = False
    from distro.services.digest_compose import open_edition
    from distro.services.digest_send import queue_edition
    from distro.services.ingest import ingest

    ingest(app)
    result = open_edition(app, app.settings.digest)
    assert result.digest is not None
    assert queue_edition(app, app.settings.digest, result.digest).queued == 5
    with app.engine.begin() as c:
        c.execute(
            sa.update(Subscriber)
            .where(Subscriber.email == "amira.haddad@example.org")
            .values(status=SubscriberStatus.UNSUBSCRIBED)
        )
    reports = dispatch(app)
    assert (reports["email"].sent, reports["email"].suppressed) == (4, 1)
    suppressed = [e for e in delivery_log(app) if e.status == "suppressed"]
    assert [e.recipient for e in suppressed] == ["amira.haddad@example.org"]
    assert not any("amira" in p.read_text(errors="replace") for p in app.settings.email_dir.glob("*.eml"))


def test_digest_goes_out_over_smtp_to_a_real_server(
    settings: Settings, clock: time_machine.Traveller
) -> None:
    with running_smtp_server() as server:
        settings.email.mode = "smtp"
        settings.email.unsafe_test_relay = True  # aiosmtpd on loopback: no DKIM, http links
        settings.smtp.host, settings.smtp.port, settings.smtp.security = server.host, server.port, "none"
        settings.x.enabled = settings.facebook.enabled = False
        app = build_app(settings)
        upgrade(app.engine)
        import_csv(app, EXAMPLE_SUBSCRIBERS)
        summary = run_once(app)
        assert summary.dispatched["email"].sent == 5
        received = server.messages
    assert len(received) == 5
    assert len({m.connection for m in received}) == 1  # one connection for the batch
    by_rcpt = {m.rcpt_tos[0]: m for m in received}
    for entry in delivery_log(app):
        assert entry.status == "sent" and entry.recipient in by_rcpt
        message = parse(by_rcpt[entry.recipient].data)
        assert message["To"].addresses[0].addr_spec == entry.recipient
        assert by_rcpt[entry.recipient].mail_from == settings.email.from_address
    app.engine.dispose()
