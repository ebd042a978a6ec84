"""Webhook deliveries through the outbox into a real receiver that verifies each signature with the
``standardwebhooks`` package: the same webhook-id on every try, backoff on 5xx, Retry-After on 429,
a 4xx or a redirect failing for good, all of it in ``distro log``."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from distro.app import App
from distro.db import session_scope
from distro.models import Delivery, DeliveryStatus, WebhookEvent
from distro.services import events
from distro.services.delivery import delivery_log, dispatch
from distro.services.ingest import ingest
from tests.webhooks.conftest import SECRET_ENV, Receiver, webhook

pytestmark = pytest.mark.usefixtures("clock")


def _one_event(app: App) -> None:
    with session_scope(app.engine) as session:
        events.emit(session, "subscriber.created", {"id": 7, "email": "Reader@Example.org"})


def _rows(app: App) -> list[Delivery]:
    with session_scope(app.engine) as session:
        return list(session.exec(sa.select(Delivery).where(Delivery.channel == "webhook")).scalars())  # type: ignore[call-overload]


def test_ingest_sends_one_signed_event_per_new_article(hooked: App, receiver: Receiver) -> None:
    ingest(hooked)
    ingest(hooked)  # nothing new: no second event
    reports = dispatch(hooked, ["webhook"])

    assert reports["webhook"].sent == 12
    published = receiver.of_type("article.published")
    assert len(published) == 12 and not receiver.refused
    assert {e.data["url"] for e in published} == {e.data["url"] for e in published if e.data["id"]}
    first = published[0]
    assert first.webhook_id == f"webhook:crm:article.published:{first.data['id']}"
    assert first.data["title"] and first.payload["timestamp"].endswith("Z")
    assert "email" not in first.data
    assert dispatch(hooked, ["webhook"])["webhook"].sent == 0  # sent once


def test_a_5xx_is_retried_later_with_the_same_webhook_id(
    hooked: App, receiver: Receiver, clock: time_machine.Traveller
) -> None:
    receiver.answer = [500, 503, 200]
    _one_event(hooked)

    assert dispatch(hooked, ["webhook"])["webhook"].temporary == 1
    assert dispatch(hooked, ["webhook"])["webhook"].temporary == 0  # not due yet: backoff
    clock.shift(timedelta(hours=1))
    assert dispatch(hooked, ["webhook"])["webhook"].temporary == 1
    clock.shift(timedelta(hours=1))
    assert dispatch(hooked, ["webhook"])["webhook"].sent == 1

    assert len(receiver.tries) == 3 and len(set(receiver.tries)) == 1
    (event,) = receiver.events
    assert event.webhook_id == receiver.tries[0] and event.data == {"id": 7, "email": "Reader@Example.org"}
    (row,) = _rows(hooked)
    assert row.status == DeliveryStatus.SENT and row.attempts == 3 and row.key == event.webhook_id
    (entry,) = delivery_log(hooked, channel="webhook")
    assert entry.status == "sent" and entry.recipient == "crm" and entry.provider_id == "200"


def test_429_waits_for_retry_after(hooked: App, receiver: Receiver, clock: time_machine.Traveller) -> None:
    receiver.answer, receiver.retry_after = [429, 200], "120"
    _one_event(hooked)
    dispatch(hooked, ["webhook"])
    (row,) = _rows(hooked)
    assert row.status == DeliveryStatus.PENDING and "429" in (row.last_error or "")
    assert row.next_attempt_at - row.updated_at == timedelta(seconds=120)
    clock.shift(timedelta(seconds=119))
    assert dispatch(hooked, ["webhook"])["webhook"].sent == 0
    clock.shift(timedelta(seconds=2))
    assert dispatch(hooked, ["webhook"])["webhook"].sent == 1


@pytest.mark.parametrize(("status", "words"), [(400, "answered 400"), (302, "redirects are not followed")])
def test_a_4xx_or_a_redirect_fails_for_good(
    hooked: App, receiver: Receiver, clock: time_machine.Traveller, status: int, words: str
) -> None:
    receiver.answer = [status]
    _one_event(hooked)
    assert dispatch(hooked, ["webhook"])["webhook"].permanent == 1
    clock.shift(timedelta(days=2))
    assert dispatch(hooked, ["webhook"])["webhook"].permanent == 0
    assert len(receiver.tries) == 1
    (entry,) = delivery_log(hooked, channel="webhook", status="failed")
    assert words in (entry.last_error or "")


def test_the_same_event_key_is_queued_once(hooked: App) -> None:
    for _ in range(2):
        with session_scope(hooked.engine) as session:
            events.emit(session, "edition.sent", {"id": 1}, key="edition.sent:1")
    assert len(_rows(hooked)) == 1
    with session_scope(hooked.engine) as session:
        assert len(list(session.exec(sa.select(WebhookEvent)).scalars())) == 1  # type: ignore[call-overload]


def test_an_event_no_webhook_wants_writes_nothing(hooked: App) -> None:
    hooked.settings.webhooks[0].events.remove("subscriber.created")
    from distro.store import webhook_events

    webhook_events.configure(hooked.engine, hooked.settings.webhooks)
    _one_event(hooked)
    assert _rows(hooked) == []


def test_an_event_rolled_back_with_its_change_is_never_sent(hooked: App) -> None:
    with pytest.raises(RuntimeError), session_scope(hooked.engine) as session:
        events.emit(session, "subscriber.created", {"id": 8})
        raise RuntimeError("the change failed")
    assert _rows(hooked) == []


def test_a_receiver_that_does_not_answer_in_time_is_retried(hooked: App, receiver: Receiver) -> None:
    hooked.settings.webhooks[0].timeout, receiver.delay = 0.2, 1.0
    _one_event(hooked)
    assert dispatch(hooked, ["webhook"])["webhook"].temporary == 1
    (row,) = _rows(hooked)
    assert row.status == DeliveryStatus.PENDING and "did not answer in 0.2s" in (row.last_error or "")


def test_the_receiver_refuses_a_signature_made_with_another_secret(
    hooked: App, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "whsec_" + base64.b64encode(b"another secret, 32 bytes long!!!").decode())
    hooked.settings.webhooks[0] = webhook(receiver.url)
    _one_event(hooked)
    assert dispatch(hooked, ["webhook"])["webhook"].permanent == 1  # 401 from the receiver
    assert len(receiver.refused) == 1 and receiver.events == []


@pytest.mark.parametrize("status", [408, 502])
def test_a_408_or_a_5xx_is_temporary(hooked: App, receiver: Receiver, status: int) -> None:
    receiver.answer = [status]
    _one_event(hooked)
    assert dispatch(hooked, ["webhook"])["webhook"].temporary == 1
    (row,) = _rows(hooked)
    assert row.status == DeliveryStatus.PENDING and f"answered {status}; will retry" in (row.last_error or "")
