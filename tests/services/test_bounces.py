"""What a bounce or complaint does (distro.services.bounces), on SQLite and PostgreSQL: VERP tokens name
the delivery, forged tokens and strangers change nothing, hard suppresses, soft counts in a window,
complaints unsubscribe, a report read twice counts once, and every event is a row the log shows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from distro.app import App
from distro.feedback.report import Feedback, Kind, Source
from distro.models import BounceEvent, Delivery, Subscriber
from distro.services.bounces import IGNORED_FORGED, IGNORED_STRANGER, record_feedback
from distro.services.delivery_log import delivery_log
from distro.services.privacy import export_subscriber, forget_subscriber
from distro.services.subscribers import import_csv
from distro.services.suppression import suppressed_among
from distro.tokens import bounce_token
from tests.test_worker import add_subscribers, queue_small_digest


def delivery_of(app: App, email: str) -> int:
    with app.engine.connect() as c:
        return int(c.execute(sa.select(Delivery.id).where(Delivery.recipient == email)).scalar_one())  # type: ignore[arg-type]


def subscriber(app: App, email: str) -> Subscriber:
    with app.engine.connect() as c:
        row = c.execute(sa.select(Subscriber).where(Subscriber.email == email)).one()  # type: ignore[arg-type]
    return Subscriber.model_validate(row._mapping)


def events(app: App) -> list[BounceEvent]:
    with app.engine.connect() as c:
        rows = c.execute(sa.select(BounceEvent).order_by(BounceEvent.id)).all()  # type: ignore[arg-type]
    return [BounceEvent.model_validate(r._mapping) for r in rows]


def dsn(
    kind: Kind, *, token: str | None = None, recipient: str | None = None, report: str = "r1"
) -> Feedback:
    status = {"hard": "5.1.1", "soft": "4.2.2", "complaint": None}.get(kind.value)
    return Feedback(
        kind,
        Source.DSN if kind != Kind.COMPLAINT else Source.ARF,
        recipient,
        status,
        "said no",
        token,
        report,
    )


@pytest.fixture
def queued(app: App, clock: time_machine.Traveller) -> list[str]:
    emails = add_subscribers(app, 3)
    queue_small_digest(app)
    return emails


def test_a_verp_token_names_the_delivery_whatever_address_the_report_gives(
    app: App, queued: list[str]
) -> None:
    delivery = delivery_of(app, queued[0])
    token = bounce_token(app.signing_key, delivery)
    outcome = record_feedback(app, dsn(Kind.HARD, token=token, recipient="forwarded@elsewhere.example"))
    assert (outcome.recipient, outcome.delivery_id, outcome.action) == (queued[0], delivery, "suppressed")
    assert suppressed_among(app.engine, queued) == {queued[0]: "hard_bounce"}
    (event,) = events(app)
    assert (event.email, event.kind, event.status, event.source, event.delivery_id) == (
        queued[0],
        "hard",
        "5.1.1",
        "dsn",
        delivery,
    )
    assert event.subscriber_id == subscriber(app, queued[0]).id and event.action == "suppressed"


def test_a_forged_or_unknown_token_and_a_stranger_change_nothing(app: App, queued: list[str]) -> None:
    delivery = delivery_of(app, queued[0])
    forged = bounce_token(b"another-key" * 3, delivery)
    assert record_feedback(app, dsn(Kind.HARD, token=forged, recipient=queued[0])).action == IGNORED_FORGED
    unknown = bounce_token(app.signing_key, delivery + 1000)
    assert record_feedback(app, dsn(Kind.HARD, token=unknown, recipient=queued[0])).action == IGNORED_FORGED
    assert record_feedback(app, dsn(Kind.HARD, recipient="victim@example.net")).action == IGNORED_STRANGER
    assert record_feedback(app, dsn(Kind.UNRECOGNISED, recipient=queued[0])).action == "none"
    assert suppressed_among(app.engine, [*queued, "victim@example.net"]) == {} and events(app) == []


def test_without_a_token_a_subscribers_address_is_acted_on(app: App, queued: list[str]) -> None:
    outcome = record_feedback(app, dsn(Kind.HARD, recipient=queued[1].upper()))
    assert (outcome.recipient, outcome.delivery_id, outcome.action) == (queued[1], None, "suppressed")
    assert queued[1] in suppressed_among(app.engine, [queued[1]])


def test_the_same_report_read_twice_counts_once(app: App, queued: list[str]) -> None:
    token = bounce_token(app.signing_key, delivery_of(app, queued[0]))
    assert record_feedback(app, dsn(Kind.SOFT, token=token, report="<same@mx>")).action.startswith(
        "counted (1 of 3"
    )
    assert record_feedback(app, dsn(Kind.SOFT, token=token, report="<same@mx>")).action == "already recorded"
    assert len(events(app)) == 1


def test_soft_bounces_suppress_at_the_limit_within_the_window(
    app: App, queued: list[str], clock: time_machine.Traveller
) -> None:
    app.settings.bounces.soft_limit, app.settings.bounces.soft_window_days = 3, 30
    token = bounce_token(app.signing_key, delivery_of(app, queued[0]))
    assert record_feedback(app, dsn(Kind.SOFT, token=token, report="a")).action.startswith("counted (1 of 3")
    clock.shift(timedelta(days=31))  # the first one falls out of the window
    assert record_feedback(app, dsn(Kind.SOFT, token=token, report="b")).action.startswith("counted (1 of 3")
    clock.shift(timedelta(days=2))
    assert record_feedback(app, dsn(Kind.SOFT, token=token, report="c")).action.startswith("counted (2 of 3")
    assert suppressed_among(app.engine, [queued[0]]) == {}
    assert record_feedback(app, dsn(Kind.SOFT, token=token, report="d")).action == "suppressed"
    assert suppressed_among(app.engine, [queued[0]]) == {queued[0]: "soft_bounce"}


def test_a_complaint_unsubscribes_suppresses_and_an_import_cannot_bring_it_back(
    app: App, queued: list[str], tmp_path: Path
) -> None:
    token = bounce_token(app.signing_key, delivery_of(app, queued[2]))
    outcome = record_feedback(app, dsn(Kind.COMPLAINT, token=token))
    assert (outcome.kind, outcome.action) == ("complaint", "unsubscribed and suppressed")
    assert subscriber(app, queued[2]).status == "unsubscribed"
    assert suppressed_among(app.engine, [queued[2]]) == {queued[2]: "complaint"}
    csv = tmp_path / "list.csv"
    csv.write_text(f"email,name,sections,status\n{queued[2]},Back,,active\n", encoding="utf-8")
    report = import_csv(app, csv)
    assert report.added == 0 and subscriber(app, queued[2]).status == "unsubscribed"


def test_the_log_and_the_data_export_show_the_event_and_forgetting_deletes_it(
    app: App, queued: list[str]
) -> None:
    delivery = delivery_of(app, queued[0])
    record_feedback(app, dsn(Kind.HARD, token=bounce_token(app.signing_key, delivery)))
    (entry,) = [e for e in delivery_log(app, address=queued[0])]
    assert entry.bounce == "hard 5.1.1 (dsn): suppressed"
    exported = export_subscriber(app, queued[0])
    assert [(b["kind"], b["delivery_id"]) for b in exported["bounces"]] == [("hard", delivery)]
    assert forget_subscriber(app, queued[0])["bounces"] == 1
    assert events(app) == []


def test_the_dashboard_counts_what_came_back_for_the_last_edition(app: App, queued: list[str]) -> None:
    from distro.services.desk_overview import overview

    for email, kind in zip(queued, (Kind.HARD, Kind.SOFT, Kind.COMPLAINT), strict=True):
        record_feedback(app, dsn(kind, token=bounce_token(app.signing_key, delivery_of(app, email))))
    record_feedback(app, dsn(Kind.HARD, recipient=queued[0], report="no-delivery"))  # names no delivery
    last = overview(app).last_digest
    assert last is not None and (last.bounced_later, last.complaints) == (2, 1)
