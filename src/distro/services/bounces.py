"""Bounces and complaints that come back after a message left: what each one does.

Every way in (``distro bounces ingest`` from a file or a Postfix pipe, the LMTP listener, the IMAP poller,
the ESP webhooks) ends in :func:`record_feedback`, so the policy is one place:

- a **hard** bounce suppresses the address at once, for every newsletter (the list is about mailboxes);
- a **soft** bounce (4.x.x, mailbox full, greylisting that never cleared) is counted; ``[bounces]
  soft_limit`` of them within ``soft_window_days`` suppress the address;
- a **complaint** unsubscribes the reader and suppresses the address at once; an import can never
  re-subscribe it (imports refuse suppressed addresses);
- anything else (an autoreply, a delay warning, a human reply) changes nothing and leaves no row.

Who an event is about: a valid VERP token names the delivery, whose recipient wins over whatever the report
says (the reader may forward to another mailbox). Without a token the report's address is acted on only
when it is a subscriber's: anyone can send mail to the bounce address, and a made-up report must not be a
way to suppress a stranger. A token that is present but forged, or names no email delivery, makes the
whole report ignored. The event row and what it did commit in one transaction; the same report read twice
(``report_key``) counts once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import Session

from distro.app import App
from distro.db import session_scope
from distro.errors import InvalidInput
from distro.feedback.messages import read_message
from distro.feedback.report import Feedback, Kind
from distro.models import Subscriber, SubscriberStatus, SuppressionReason, utcnow
from distro.services import events
from distro.store import bounce_events, deliveries, subscribers, suppressions
from distro.tokens import InvalidToken, read_bounce_token

IGNORED_FORGED = "ignored: forged or unknown bounce token"
IGNORED_STRANGER = "ignored: not a subscriber's address"
IGNORED_NOTHING = "none"
ALREADY = "already recorded"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one report was found to be and what it did (``distro bounces ingest --format json``)."""

    kind: str
    recipient: str | None
    delivery_id: int | None
    status: str | None
    action: str
    source: str
    diagnostic: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ingest_message(app: App, data: bytes, *, envelope_recipient: str | None = None) -> Outcome:
    """Read one raw message that arrived at the bounce address and act on it."""
    feedback = read_message(
        data, bounce_address=app.settings.email.bounce_address, envelope_recipient=envelope_recipient
    )
    return record_feedback(app, feedback)


@dataclass(frozen=True, slots=True)
class _Target:
    email: str
    delivery_id: int | None
    subscriber_id: int | None


def record_feedback(app: App, feedback: Feedback, *, now: datetime | None = None) -> Outcome:
    """Act on one event (see the module docstring); never raises for what the report says."""
    now = now or feedback.occurred_at or utcnow()

    def outcome(action: str, target: _Target | None = None) -> Outcome:
        return Outcome(
            kind=str(feedback.kind),
            recipient=target.email if target else feedback.recipient,
            delivery_id=target.delivery_id if target else None,
            status=feedback.status,
            action=action,
            source=str(feedback.source),
            diagnostic=feedback.diagnostic,
        )

    if feedback.kind == Kind.UNRECOGNISED:
        return outcome(IGNORED_NOTHING)
    with session_scope(app.engine) as session:
        connection = session.connection()
        target: _Target | None
        if feedback.token is not None:
            target = _by_token(app, connection, feedback.token)
            if target is None:
                return outcome(IGNORED_FORGED)
        else:
            subscriber = subscribers.by_email(session, feedback.recipient) if feedback.recipient else None
            if subscriber is None or subscriber.id is None:
                return outcome(IGNORED_STRANGER)
            target = _Target(suppressions.key(subscriber.email), None, subscriber.id)
        event_id = bounce_events.insert(connection, _event_row(feedback, target, now))
        if event_id is None:
            return outcome(ALREADY, target)
        action = _apply(app, session, connection, feedback, target, now)
        bounce_events.set_action(connection, event_id, action)
        events.bounced(session, event_id, target, feedback, action)  # outgoing webhooks, this transaction
    return outcome(action, target)


def _by_token(app: App, connection: Connection, token: str) -> _Target | None:
    """The email delivery a VERP token names, or None (forged, altered, or no such email delivery)."""
    try:
        delivery_id = read_bounce_token(app.signing_key, token)
    except InvalidToken:
        return None
    row = deliveries.addressed(connection, delivery_id)
    if row is None or row.channel != "email" or "@" not in row.recipient:  # anonymised rows have no "@"
        return None
    return _Target(suppressions.key(row.recipient), delivery_id, row.subscriber_id)


def _event_row(feedback: Feedback, target: _Target, now: datetime) -> dict[str, Any]:
    report = feedback.report_id or f"{feedback.source}:{feedback.kind}:{target.delivery_id}:{now.isoformat()}"
    return {
        "email": target.email,
        "kind": str(feedback.kind),
        "status": (feedback.status or "")[:20] or None,
        "diagnostic": feedback.diagnostic,
        "source": str(feedback.source),
        "provider": feedback.provider,
        "delivery_id": target.delivery_id,
        "subscriber_id": target.subscriber_id,
        "action": "recording",
        "report_key": bounce_events.report_key(report, target.email),
        "created_at": now,
    }


def _apply(
    app: App, session: Session, connection: Connection, feedback: Feedback, target: _Target, now: datetime
) -> str:
    """The policy for one new event, in its transaction; returns what it did."""
    detail = f"{feedback.source}: {feedback.status or ''} {feedback.diagnostic or ''}".strip()[:2000]
    if feedback.kind == Kind.HARD:
        if target.subscriber_id is not None:
            suppressions.count_bounces(
                connection,
                [suppressions.Bounce(target.subscriber_id, target.email, detail, target.delivery_id)],
                limit=1,
            )
            return "suppressed"
        new = suppressions.add(connection, target.email, SuppressionReason.HARD_BOUNCE, detail, now)
        return "suppressed" if new else "already suppressed"
    if feedback.kind == Kind.SOFT:
        settings = app.settings.bounces
        since = now - timedelta(days=settings.soft_window_days)
        count = bounce_events.count_since(connection, target.email, str(Kind.SOFT), since)
        if count < settings.soft_limit:
            return f"counted ({count} of {settings.soft_limit} in {settings.soft_window_days} days)"
        reason = f"{count} soft bounces in {settings.soft_window_days} days; last: {detail}"[:2000]
        new = suppressions.add(connection, target.email, SuppressionReason.SOFT_BOUNCE, reason, now)
        return "suppressed" if new else "already suppressed"
    # A complaint: unsubscribe from everything, and never mail the address again.
    unsubscribed = False
    if target.subscriber_id is not None:
        subscriber = session.get(Subscriber, target.subscriber_id)
        if subscriber is not None:
            unsubscribed = subscribers.set_status(subscriber, SubscriberStatus.UNSUBSCRIBED, now)
            session.add(subscriber)
    suppressions.add(connection, target.email, SuppressionReason.COMPLAINT, detail, now)
    return "unsubscribed and suppressed" if unsubscribed else "suppressed"


@dataclass(frozen=True, slots=True)
class Event:
    """One stored event (``distro bounces list``, a reader's history)."""

    at: datetime
    email: str
    kind: str
    status: str | None
    source: str
    provider: str | None
    delivery_id: int | None
    action: str
    diagnostic: str | None


def list_events(
    app: App, *, email: str | None = None, kind: str | None = None, limit: int = 200
) -> list[Event]:
    """Bounce and complaint events, newest first, optionally of one address or kind."""
    if kind is not None and kind not in {str(k) for k in Kind if k != Kind.UNRECOGNISED}:
        raise InvalidInput(f"unknown kind {kind!r} (one of hard, soft, complaint)")
    return [
        Event(
            e.created_at,
            e.email,
            e.kind,
            e.status,
            e.source,
            e.provider,
            e.delivery_id,
            e.action,
            e.diagnostic,
        )
        for e in bounce_events.recent(app.engine, email=email, kind=kind, limit=limit)
    ]
