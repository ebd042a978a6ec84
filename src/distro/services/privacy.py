"""Data-protection requests: export everything stored about an address, or forget it.

Forgetting deletes the subscriber row, pending sign-ups, stored transactional messages and the address's
rate-limit events (hashes, but of the address), and rewrites the address in the delivery log (recipient,
errors) as ``forgotten:<hmac>``: the log keeps every row and outcome, so its counts stay honest, and an
operator who is asked again about the same address can recompute the tag with the signing key, while nobody
can read the address back from it.

The address is NOT put on the suppression list by default: that list stores addresses in clear, and a
person who asked to be forgotten did not ask to be remembered. ``suppress=True`` (``--suppress``) adds it
when they also asked never to be mailed again. An entry already on the list (bounce, complaint) is kept:
it is what stops mail to that mailbox and is needed for that purpose.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from distro.app import App
from distro.db import session_scope
from distro.errors import DistroError
from distro.models import (
    Delivery,
    DeliveryAttempt,
    OneOffMessage,
    Signup,
    Subscriber,
    Suppression,
    SuppressionReason,
)
from distro.services.limits import address_key, clear
from distro.services.subscribers import normalise_email
from distro.services.suppression import suppress


def forgotten_tag(app: App, email: str) -> str:
    digest = hmac.new(app.signing_key, email.strip().lower().encode(), hashlib.sha256).hexdigest()
    return f"forgotten:{digest[:24]}"


def _row(obj: Any) -> dict[str, Any]:
    return obj.model_dump(mode="json")  # type: ignore[no-any-return]


def _mine(email: str) -> Any:
    return sa.func.lower(Delivery.recipient) == email.lower()


def export_subscriber(app: App, email: str) -> dict[str, Any]:
    """Everything stored about ``email``: subscriber row, sign-ups, deliveries with attempts, suppression."""
    address = normalise_email(email)
    with session_scope(app.engine) as session:
        subscriber = session.exec(
            select(Subscriber).where(sa.func.lower(Subscriber.email) == address.lower())
        ).first()
        mine = _mine(address)
        if subscriber is not None:
            mine = sa.or_(mine, col(Delivery.subscriber_id) == subscriber.id)
        deliveries = list(session.exec(select(Delivery).where(mine).order_by(col(Delivery.id))))
        ids = [d.id for d in deliveries]
        attempts = list(
            session.exec(select(DeliveryAttempt).where(col(DeliveryAttempt.delivery_id).in_(ids)))
        )
        theirs = sa.func.lower(Signup.email) == address.lower()
        if subscriber is not None:  # with the address changes the subscription asked for
            theirs = sa.or_(theirs, col(Signup.subscriber_id) == subscriber.id)
        signups = session.exec(select(Signup).where(theirs))
        suppression = session.exec(select(Suppression).where(Suppression.email == address.lower())).first()
        messages = session.exec(
            select(OneOffMessage).where(sa.func.lower(OneOffMessage.recipient) == address.lower())
        )
        by_delivery: dict[int, list[dict[str, Any]]] = {}
        for attempt in attempts:
            by_delivery.setdefault(attempt.delivery_id, []).append(_row(attempt))
        return {
            "email": address,
            "subscriber": _row(subscriber) if subscriber else None,
            "pending_signups": [_row(s) for s in signups],
            "suppression": _row(suppression) if suppression else None,
            "messages": [_row(m) for m in messages],
            "deliveries": [{**_row(d), "attempts": by_delivery.get(d.id or 0, [])} for d in deliveries],
        }


def forget_subscriber(app: App, email: str, *, suppress_address: bool = False) -> dict[str, int]:
    """Delete personal data about ``email``; keep its delivery rows anonymised. Returns what changed."""
    address = normalise_email(email)
    tag = forgotten_tag(app, address)
    with session_scope(app.engine) as session:
        subscriber = session.exec(
            select(Subscriber).where(sa.func.lower(Subscriber.email) == address.lower())
        ).first()
        mine = _mine(address)
        if subscriber is not None:
            mine = sa.or_(mine, col(Delivery.subscriber_id) == subscriber.id)
        deliveries = list(session.exec(select(Delivery).where(mine)))
        names = [address, *([subscriber.email] if subscriber else [])]
        for delivery in deliveries:
            delivery.recipient, delivery.subscriber_id = tag, None
            delivery.last_error = _scrub(delivery.last_error, names, tag)
            session.add(delivery)
        ids = [d.id for d in deliveries]
        for attempt in session.exec(select(DeliveryAttempt).where(col(DeliveryAttempt.delivery_id).in_(ids))):
            if attempt.error:
                attempt.error = _scrub(attempt.error, names, tag)
                session.add(attempt)
        session.flush()
        counts = {"deliveries_anonymised": len(deliveries), "subscriber": 0}
        signups = sa.delete(Signup).where(sa.func.lower(Signup.email) == address.lower())
        if subscriber is not None:
            signups = sa.delete(Signup).where(
                sa.or_(
                    sa.func.lower(Signup.email) == address.lower(), col(Signup.subscriber_id) == subscriber.id
                )
            )
        counts["signups"] = int(session.execute(signups).rowcount or 0)  # type: ignore[attr-defined]
        recipient = sa.func.lower(OneOffMessage.recipient) == address.lower()
        counts["messages"] = int(session.execute(sa.delete(OneOffMessage).where(recipient)).rowcount or 0)  # type: ignore[attr-defined]
        if subscriber is not None:
            session.delete(subscriber)
            counts["subscriber"] = 1
    for purpose in ("signup", "change"):
        clear(app.engine, address_key(purpose, address))
    if not any(counts.values()) and not suppress_address:
        raise DistroError(f"nothing is stored about {address}")
    if suppress_address:
        suppress(app.engine, address, SuppressionReason.MANUAL, "asked to be forgotten and not mailed")
    return counts


def _scrub(text: str | None, names: list[str], tag: str) -> str | None:
    if not text:
        return text
    for name in names:
        text = text.replace(name, tag).replace(name.lower(), tag)
    return text
