"""The loop closed, on SQLite and PostgreSQL: a real SMTP server accepts the digest (the envelope sender is
the delivery's VERP address), later a DSN for it comes back to that address, and the next edition leaves
the reader out, while everyone else still gets it."""

from __future__ import annotations

import re

import sqlalchemy as sa
import time_machine

from distro.app import App
from distro.models import Delivery
from distro.services.bounces import ingest_message
from distro.services.delivery import dispatch
from distro.services.delivery_log import delivery_log
from distro.services.digest_send import count_recipients
from tests.fakes.bounce_mail import dsn
from tests.fakes.smtp_server import running_smtp_server
from tests.test_worker import add_subscribers, queue_small_digest

BOUNCE_ADDRESS = "bounces+{token}@bounces.meridian-review.example"
VERP = re.compile(r"^bounces\+(\d+)-[0-9a-f]{20}@bounces\.meridian-review\.example$")


def test_a_dsn_after_acceptance_takes_the_reader_out_of_the_next_edition(
    app: App, clock: time_machine.Traveller
) -> None:
    app.settings.email.bounce_address = BOUNCE_ADDRESS
    emails = add_subscribers(app, 3)
    queue_small_digest(app)
    with running_smtp_server() as server:
        app.settings.email.mode = "smtp"
        app.settings.email.unsafe_test_relay = True  # aiosmtpd on loopback: no DKIM, http links
        app.settings.smtp.host, app.settings.smtp.port = server.host, server.port
        app.settings.smtp.security = "none"
        assert dispatch(app, ["email"])["email"].sent == 3
    by_rcpt = {m.rcpt_tos[0]: m.mail_from for m in server.messages}
    with app.engine.connect() as c:
        ids = dict(c.execute(sa.select(Delivery.recipient, Delivery.id)).all())  # type: ignore[call-overload]
    for email, mail_from in by_rcpt.items():  # each delivery's own envelope sender
        found = VERP.match(mail_from)
        assert found and int(found.group(1)) == ids[email], mail_from
    assert count_recipients(app, app.settings.digest) == 3

    # The relay accepted it; an hour later the mailbox provider bounces it to the VERP address.
    clock.shift(3600)
    bounced = emails[1]
    outcome = ingest_message(app, dsn(by_rcpt[bounced], bounced.upper()))
    assert (outcome.kind, outcome.recipient, outcome.delivery_id, outcome.action) == (
        "hard",
        bounced,
        ids[bounced],
        "suppressed",
    )
    assert outcome.status == "5.1.1" and outcome.source == "dsn"
    (entry,) = delivery_log(app, address=bounced)
    assert entry.status == "sent" and entry.bounce == "hard 5.1.1 (dsn): suppressed"

    assert count_recipients(app, app.settings.digest) == 2  # the count the editor confirms
    queue_small_digest(app, "tiny-next-week")
    with app.engine.connect() as c:
        queued = set(
            c.execute(sa.select(Delivery.recipient).where(Delivery.id > max(ids.values()))).scalars()
        )
    assert queued == set(emails) - {bounced}


def test_a_forged_dsn_naming_a_reader_changes_nothing(app: App, clock: time_machine.Traveller) -> None:
    app.settings.email.bounce_address = BOUNCE_ADDRESS
    emails = add_subscribers(app, 2)
    forged_sender = "bounces+1-0123456789abcdef0123@bounces.meridian-review.example"
    outcome = ingest_message(app, dsn(forged_sender, emails[0]))
    assert outcome.action.startswith("ignored") and count_recipients(app, app.settings.digest) == 2
