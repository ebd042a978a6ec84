"""Data-protection requests: export everything stored about an address, or forget it.

Forgetting deletes the subscriber row, pending sign-ups, stored transactional messages, bounce and complaint
events, the clicks and opens that name the reader (only ``tracking.per_reader`` stores any) and the
address's rate-limit events (hashes, but of the address), and rewrites the address in the
delivery log (recipient, errors) as ``forgotten:<hmac>``: the log keeps every row and outcome, so its counts
stay honest, and an operator who is asked again about the same address can recompute the tag with the signing
key, while nobody can read the address back from it.

The address is NOT put on the suppression list by default: that list stores addresses in clear, and a
person who asked to be forgotten did not ask to be remembered. ``suppress=True`` (``--suppress``) adds it
when they also asked never to be mailed again. An entry already on the list (bounce, complaint) is kept:
it is what stops mail to that mailbox and is needed for that purpose.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from sqlmodel import Session, SQLModel

from distro.app import App
from distro.db import session_scope
from distro.errors import DistroError
from distro.models import SuppressionReason
from distro.services.activity import record_activity
from distro.services.limits import address_key, clear
from distro.services.subscribers import normalise_email
from distro.services.suppression import suppress
from distro.store import (
    activity,
    bounce_events,
    clicks,
    deliveries,
    one_off,
    signups,
    subscribers,
    suppressions,
    webhook_events,
)


def forgotten_tag(app: App, email: str) -> str:
    digest = hmac.new(app.signing_key, email.strip().lower().encode(), hashlib.sha256).hexdigest()
    return f"forgotten:{digest[:24]}"


def _row(obj: SQLModel) -> dict[str, Any]:
    return obj.model_dump(mode="json")


def export_subscriber(app: App, email: str) -> dict[str, Any]:
    """Everything stored about ``email``: subscriber row, sign-ups, deliveries with attempts, suppression,
    bounce and complaint events, and the clicks and opens that name the reader (``tracking.per_reader``)."""
    address = normalise_email(email)
    with session_scope(app.engine) as session:
        subscriber = subscribers.by_email(session, address)
        subscriber_id = subscriber.id if subscriber is not None else None
        delivered = deliveries.of_reader(session, address, subscriber_id)
        by_delivery: dict[int, list[dict[str, Any]]] = {}
        for attempt in deliveries.attempts_of(session, [d.id or 0 for d in delivered]):
            by_delivery.setdefault(attempt.delivery_id, []).append(_row(attempt))
        suppression = suppressions.entry(session, address)
        clicked, opened = clicks.of_reader(session, subscriber_id) if subscriber_id else ([], [])
        return {
            "email": address,
            "subscriber": _row(subscriber) if subscriber else None,
            # with the address changes the subscription asked for
            "pending_signups": [_row(s) for s in signups.for_address(session, address, subscriber_id)],
            "suppression": _row(suppression) if suppression else None,
            "bounces": [_row(e) for e in bounce_events.of_reader(session, address)],
            "clicks": [_row(c) for c in clicked],
            "opens": [_row(o) for o in opened],
            "messages": [_row(m) for m in one_off.for_recipient(session, address)],
            "deliveries": [{**_row(d), "attempts": by_delivery.get(d.id or 0, [])} for d in delivered],
        }


def forget_subscriber(
    app: App, email: str, *, suppress_address: bool = False, actor: str | None = None
) -> dict[str, int]:
    """Delete personal data about ``email``; keep its delivery rows anonymised. Returns what changed.

    The activity record's earlier rows naming the address are rewritten to its forgotten tag too, and the
    forget itself (with ``actor``) is recorded under that tag, never the address."""
    address = normalise_email(email)
    with session_scope(app.engine) as session:
        subscriber = subscribers.by_email(session, address)
        subscriber_id = subscriber.id if subscriber is not None else None
        names = [address, *([subscriber.email] if subscriber else [])]
        counts = {"deliveries_anonymised": _anonymise(session, address, subscriber_id, names, app)}
        counts["subscriber"] = 0
        counts["signups"] = signups.delete_for(session, address, subscriber_id)
        counts["messages"] = one_off.delete_for(session, address)
        counts["bounces"] = bounce_events.delete_for(session, address, subscriber_id)
        counts["webhook_events"] = webhook_events.forget(session.connection(), address)
        counts["clicks"] = clicks.delete_for(session, subscriber_id) if subscriber_id else 0
        if subscriber is not None:
            session.delete(subscriber)
            counts["subscriber"] = 1
        tag = forgotten_tag(app, address)
        activity.scrub(session, names, tag)
        if actor is not None and (any(counts.values()) or suppress_address):
            record_activity(
                session,
                actor=actor,
                action="subscriber.forget",
                subject=f"subscriber {tag}",
                detail="forgotten",
            )
    for purpose in ("signup", "change"):
        clear(app.engine, address_key(purpose, address))
    if not any(counts.values()) and not suppress_address:
        raise DistroError(f"nothing is stored about {address}")
    if suppress_address:
        suppress(app.engine, address, SuppressionReason.MANUAL, "asked to be forgotten and not mailed")
    return counts


def _anonymise(session: Session, address: str, subscriber_id: int | None, names: list[str], app: App) -> int:
    """Rewrite the reader's deliveries and their attempts' errors to the forgotten tag; how many rows."""
    tag = forgotten_tag(app, address)
    delivered = deliveries.of_reader(session, address, subscriber_id)
    for delivery in delivered:
        delivery.recipient, delivery.subscriber_id = tag, None
        delivery.last_error = _scrub(delivery.last_error, names, tag)
        session.add(delivery)
    for attempt in deliveries.attempts_of(session, [d.id or 0 for d in delivered]):
        if attempt.error:
            attempt.error = _scrub(attempt.error, names, tag)
            session.add(attempt)
    session.flush()
    return len(delivered)


def _scrub(text: str | None, names: list[str], tag: str) -> str | None:
    if not text:
        return text
    for name in names:
        text = text.replace(name, tag).replace(name.lower(), tag)
    return text
