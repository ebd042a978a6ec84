"""An edition's report from a seeded edition with known outcomes, on SQLite and PostgreSQL: sent through a
real SMTP server that refuses one address, then a soft bounce, a complaint and an unsubscribe come back."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
import time_machine

from distro.app import App
from distro.errors import InvalidInput, NotFound
from distro.feedback.report import Feedback, Kind, Source
from distro.models import Delivery, DigestLink, Subscriber
from distro.services.bounces import record_feedback
from distro.services.clicks import Target, Visit, record_click
from distro.services.delivery import dispatch
from distro.services.preferences import set_status
from distro.services.report import edition_report, trend
from distro.store.clicks import add_links
from distro.tokens import bounce_token
from tests.fakes.smtp_server import running_smtp_server
from tests.test_worker import add_subscribers, queue_small_digest


def ids_of(app: App, table: type, column: str) -> dict[str, int]:
    with app.engine.connect() as c:
        return dict(c.execute(sa.select(getattr(table, column), table.id)).all())  # type: ignore[attr-defined]


@pytest.fixture
def sent(app: App, clock: time_machine.Traveller) -> list[str]:
    """Six readers, one refused at send time; then a soft bounce, a complaint, a hard bounce later, one
    unsubscribe through the edition's link, and clicks on its two links."""
    emails = add_subscribers(app, 6)
    queue_small_digest(app, "tiny-1")
    with running_smtp_server(rcpt_replies={emails[0]: "550 5.1.1 No such user"}) as server:
        app.settings.email.mode = "smtp"
        app.settings.email.unsafe_test_relay = True  # aiosmtpd on loopback: no DKIM, http links
        app.settings.smtp.host, app.settings.smtp.port = server.host, server.port
        app.settings.smtp.security = "none"
        assert dispatch(app, ["email"])["email"].sent == 5
    deliveries = ids_of(app, Delivery, "recipient")
    for email, kind in ((emails[1], Kind.SOFT), (emails[2], Kind.COMPLAINT), (emails[3], Kind.HARD)):
        token = bounce_token(app.signing_key, deliveries[email])
        record_feedback(
            app, Feedback(kind, Source.DSN, None, "5.1.1" if kind == Kind.HARD else None, None, token, email)
        )
    readers = ids_of(app, Subscriber, "email")
    set_status(app, readers[emails[4]], active=False, edition="tiny-1", via="one-click")
    set_status(app, readers[emails[4]], active=False, edition="tiny-1", via="one-click")  # twice: once
    set_status(app, readers[emails[5]], active=False, edition="no-such-edition")  # not counted anywhere
    links = add_links(
        app.engine,
        [
            DigestLink(
                edition="tiny-1", position=1, url="https://mag.example/a?utm_source=newsletter", title="A"
            ),
            DigestLink(
                edition="tiny-1", position=2, url="https://mag.example/b?utm_source=newsletter", title="B"
            ),
        ],
    )
    targets = [Target(link.url, "edition:tiny-1", edition="tiny-1", link_id=link.id) for link in links]
    reader = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0 Safari/537.36"
    )
    for ip, target in (("198.51.100.1", 0), ("198.51.100.2", 0), ("198.51.100.1", 0), ("198.51.100.3", 1)):
        record_click(app, targets[target], Visit(ip, reader))
        clock.shift(60)  # people, not a burst
    record_click(app, targets[0], Visit("203.0.113.9", "Mozilla/5.0 (compatible; BingPreview/1.0b)"))
    record_click(app, targets[1], Visit("198.51.100.4", reader, head=True))
    return emails


def test_the_report_adds_up_what_happened(app: App, sent: list[str]) -> None:
    report = edition_report(app, "tiny-1")
    assert (report.recipients, report.sent, report.failed, report.pending) == (6, 5, 1, 0)
    assert (report.hard_bounces, report.soft_bounces, report.complaints) == (
        2,
        1,
        1,
    )  # refused + bounced later
    assert report.unsubscribes == 1 and report.unsubscribe_rate == pytest.approx(1 / 5)
    assert edition_report(app).slug == "tiny-1"  # the latest sent edition by default
    # Four human clicks by three people; the scanner and the HEAD request are not counted.
    assert (report.clicks, report.unique_clickers) == (4, 3)
    assert [(link.index, link.title, link.clicks, link.unique) for link in report.links] == [
        (1, "A", 3, 2),
        (2, "B", 1, 1),
    ]
    assert report.click_rate == pytest.approx(3 / 5)
    assert report.opens is None  # opens are not counted by default


def test_trend_lists_sent_editions_oldest_first(
    app: App, sent: list[str], clock: time_machine.Traveller
) -> None:
    clock.shift(7 * 86400)
    queue_small_digest(app, "tiny-2")
    points = trend(app)
    assert [p.slug for p in points] == ["tiny-1", "tiny-2"]
    assert (points[0].unsubscribes, points[0].complaints, points[1].sent) == (1, 1, 0)
    assert edition_report(app).slug == "tiny-2"


def test_unknown_editions_and_newsletters_are_clear_errors(app: App, clock: time_machine.Traveller) -> None:
    with pytest.raises(NotFound, match="no edition has been sent yet"):
        edition_report(app)
    with pytest.raises(NotFound, match="no edition 'nope'"):
        edition_report(app, "nope")
    with pytest.raises(InvalidInput, match="unknown newsletter"):
        edition_report(app, newsletter="nope")


def test_the_desk_shows_the_edition_and_the_trend(app: App, sent: list[str]) -> None:
    from fastapi.testclient import TestClient

    from distro.web.app import create_web_app
    from tests.web.desk import signed_in

    with TestClient(create_web_app(app)) as client:
        assert client.get("/desk/reports", follow_redirects=False).status_code in (303, 401)  # signed out
        signed_in(app, client, "/desk/reports")
        listing = client.get("/desk/reports")
        assert listing.status_code == 200 and 'href="/desk/report/tiny-1"' in listing.text
        page = client.get("/desk/report/tiny-1")
        assert page.status_code == 200
        figures = dict(
            (label, int(n))
            for n, label in re.findall(r"<li><strong[^>]*>(\d+)</strong>([a-z ]+)</li>", page.text)
        )
        assert figures["sent"] == 5 and figures["hard bounces"] == 2 and figures["complaints"] == 1
        assert figures["unsubscribes"] == 1
        assert client.get("/desk/report/nope").status_code == 404
        assert client.get("/desk/reports?newsletter=nope").status_code == 404
