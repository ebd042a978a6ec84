"""Outgoing webhook events (:class:`~distro.models.WebhookEvent`) and their ``webhook`` outbox rows.

:func:`enqueue` writes one event and one delivery per webhook subscribed to it, in the caller's transaction,
so the event exists exactly when the change it reports does. Which webhooks want which event is the
configuration's business: the composition root hands it over once per engine (:func:`configure`), so the
places that report a change need nothing but their transaction.

A delivery's key is ``webhook:<webhook name>:<event uid>``; it is the ``webhook-id`` header, the same on
every retry, and unique, so one event never gets two rows for one webhook.
"""

from __future__ import annotations

import json
import uuid
import weakref
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from distro.models import Delivery, DeliveryStatus, Digest, DigestStatus, Subscriber, WebhookEvent, utcnow
from distro.settings import WebhookSettings
from distro.store import table

CHANNEL = "webhook"
KEY_PREFIX = "webhook:"
E, D = table(WebhookEvent), table(Delivery)
_ROUTES: weakref.WeakKeyDictionary[Engine, dict[str, list[str]]] = weakref.WeakKeyDictionary()


def configure(engine: Engine, webhooks: Sequence[WebhookSettings]) -> None:
    """Remember which webhooks (by name) want which event for writes through ``engine``."""
    routes: dict[str, list[str]] = {}
    for webhook in webhooks:
        for event in webhook.events:
            routes.setdefault(event, []).append(webhook.name)
    _ROUTES[engine] = routes


def subscribed(engine: Engine, event: str) -> list[str]:
    """The names of the webhooks configured for ``event`` on ``engine``."""
    return list(_ROUTES.get(engine, {}).get(event, ()))


def delivery_key(webhook: str, uid: str) -> str:
    return f"{KEY_PREFIX}{webhook}:{uid}"


def parse_key(key: str) -> tuple[str, str]:
    """(webhook name, event uid) of a delivery key made by :func:`delivery_key`."""
    webhook, _, uid = key.removeprefix(KEY_PREFIX).partition(":")
    return webhook, uid


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def envelope(event: str, data: Mapping[str, object], now: datetime) -> str:
    """The body Standard Webhooks suggests: ``{"type", "timestamp", "data"}``, compact JSON."""
    body = {"type": event, "timestamp": now, "data": dict(data)}
    return json.dumps(body, default=_json, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def enqueue(
    connection: Connection,
    event: str,
    data: Mapping[str, object],
    *,
    uid: str | None = None,
    email: str | None = None,
    now: datetime | None = None,
) -> int:
    """Store ``event`` and queue it for every webhook that wants it; how many deliveries were new.

    Nothing is written when no webhook wants it. ``uid`` makes the event idempotent (the same uid twice
    is stored once); by default it is random. ``email``: the subscriber the event is about.
    """
    names = subscribed(connection.engine, event)
    if not names:
        return 0
    now = now or utcnow()
    uid = uid or f"evt_{uuid.uuid4().hex}"
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    stored = connection.execute(
        insert(E)
        .values(uid=uid, event=event, body=envelope(event, data, now), email=email, created_at=now)
        .on_conflict_do_nothing(index_elements=["uid"])
        .returning(E.c.id)
    ).first()
    if stored is None:  # seen before: its deliveries exist already
        return 0
    rows = [
        {
            "key": delivery_key(name, uid),
            "channel": CHANNEL,
            "recipient": name,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for name in names
    ]
    statement = insert(D).on_conflict_do_nothing(index_elements=["key"]).returning(D.c.id)
    return len(connection.execute(statement, rows).all())


def bodies(engine: Engine, uids: Sequence[str]) -> dict[str, str]:
    """The stored JSON body of each event by uid; a deleted one (subscriber forgotten) is missing."""
    if not uids:
        return {}
    with engine.connect() as connection:
        found = connection.execute(sa.select(E.c.uid, E.c.body).where(E.c.uid.in_(list(uids))))
        return {uid: body for uid, body in found}


def forget(connection: Connection, email: str) -> int:
    """Delete the events about ``email`` (any case), so a forgotten reader's address leaves with them."""
    statement = sa.delete(E).where(E.c.email == email.lower())
    return int(connection.execute(statement).rowcount or 0)


# -- the changes reported from the store and the outbox, each in its own transaction -------------------


def _wants(bind: Engine | Connection, event: str) -> bool:
    return bool(subscribed(bind.engine, event))


def subscriber_data(subscriber: Subscriber) -> dict[str, object]:
    return {
        "id": subscriber.id,
        "email": subscriber.email,
        "name": subscriber.name,
        "status": str(subscriber.status),
        "sections": subscriber.sections,
        "newsletters": subscriber.newsletters,
        "created_at": subscriber.created_at,
        "unsubscribed_at": subscriber.unsubscribed_at,
    }


def subscriber_event(session: OrmSession, event: str, subscriber: Subscriber) -> None:
    """``subscriber.created`` / ``subscriber.unsubscribed`` for a subscriber in ``session``."""
    if not _wants(session.connection(), event):
        return
    session.add(subscriber)
    session.flush()  # its id
    email = subscriber.email.lower()
    enqueue(session.connection(), event, subscriber_data(subscriber), email=email)


def subscribers_created(connection: Connection, emails: Sequence[str]) -> None:
    """``subscriber.created`` for subscribers just inserted in bulk (a CSV import), by address."""
    if not emails or not _wants(connection, "subscriber.created"):
        return
    S = table(Subscriber)
    lowered = [email.lower() for email in emails]
    for start in range(0, len(lowered), 500):
        page = lowered[start : start + 500]
        for row in connection.execute(sa.select(S).where(sa.func.lower(S.c.email).in_(page))):
            data = subscriber_data(Subscriber.model_validate(dict(row._mapping)))
            enqueue(connection, "subscriber.created", data, email=row.email.lower())


def edition_data(digest: Digest) -> dict[str, object]:
    return {
        "id": digest.id,
        "slug": digest.slug,
        "newsletter": digest.newsletter,
        "subject": digest.subject,
        "recipients": digest.recipients,
        "queued_at": digest.queued_at,
    }


def edition_queued(session: Session, digest: Digest) -> None:
    """``edition.queued`` the first time an edition's rows are queued (and ``edition.sent`` if none is
    left to send by then: the workers may have emptied the queue while it was still being filled)."""
    connection = session.connection()
    if _wants(connection, "edition.queued"):
        session.flush()
        enqueue(connection, "edition.queued", edition_data(digest), uid=f"edition.queued:{digest.id}")
    editions_sent(connection, [digest.id or 0])


def editions_sent(connection: Connection, digest_ids: Collection[int]) -> None:
    """``edition.sent`` (once: its key is the edition's) for each queued edition with no row left to send."""
    if not digest_ids or not _wants(connection, "edition.sent"):
        return
    G = table(Digest)
    for digest_id in sorted(digest_ids):
        uid = f"edition.sent:{digest_id}"
        if (
            _busy(connection, digest_id)
            or connection.execute(sa.select(E.c.id).where(E.c.uid == uid)).first()
        ):
            continue
        row = connection.execute(sa.select(G).where(G.c.id == digest_id)).first()
        if row is None or row.status != DigestStatus.QUEUED:
            continue
        counts = connection.execute(
            sa.select(D.c.status, sa.func.count())
            .where(D.c.digest_id == digest_id, D.c.subscriber_id.is_not(None))
            .group_by(D.c.status)
        ).all()
        data = edition_data(Digest.model_validate(dict(row._mapping))) | {
            "deliveries": {str(status): int(n) for status, n in counts}
        }
        enqueue(connection, "edition.sent", data, uid=uid)


_LEFT = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.HELD)


def _busy(connection: Connection, digest_id: int) -> bool:
    """Whether a row of the edition is still to be sent: one walk of the claim index (channel, status,
    ...) per state, stopping at the first row, so a 100,000-row edition costs a probe, not a count."""
    for status in _LEFT:
        pick = sa.select(D.c.id).where(
            D.c.channel == "email",
            D.c.status == status,
            D.c.digest_id == digest_id,
            D.c.subscriber_id.is_not(None),
        )
        if connection.execute(pick.limit(1)).first() is not None:
            return True
    return False


def _email_event(row: Any, hard_bounce: bool) -> tuple[str, dict[str, object]] | None:
    if row.status != DeliveryStatus.FAILED or row.subscriber_id is None:
        return None
    event = "delivery.bounced" if hard_bounce else "delivery.failed"
    data: dict[str, object] = {
        "delivery_id": row.id,
        "email": row.recipient,
        "subscriber_id": row.subscriber_id,
        "edition_id": row.digest_id,
        "error": row.last_error,
    }
    return event, data | ({"kind": "hard", "source": "smtp"} if hard_bounce else {})


def _post_event(row: Any) -> tuple[str, dict[str, object]] | None:
    if row.status not in (DeliveryStatus.SENT, DeliveryStatus.FAILED) or row.social_post_id is None:
        return None
    sent = row.status == DeliveryStatus.SENT
    data: dict[str, object] = {
        "delivery_id": row.id,
        "post_id": row.social_post_id,
        "platform": row.channel.partition(":")[0],
        "account": row.recipient,
        "provider_id" if sent else "error": row.provider_id if sent else row.last_error,
    }
    return ("post.published" if sent else "post.failed"), data


_REPORTED = tuple(
    D.c[name]
    for name in ("id", "channel", "recipient", "status", "digest_id", "subscriber_id", "social_post_id")
) + (D.c.provider_id, D.c.last_error)


def report(connection: Connection, outcomes: Sequence[Any]) -> None:
    """The events of one :func:`distro.outbox.record` (``outcomes`` are its Outcomes), read back from the
    rows it just moved: ``delivery.failed`` / ``delivery.bounced`` (an SMTP refusal), ``post.published`` /
    ``post.failed``, and ``edition.sent`` for editions with nothing left to send. Each event's key is its
    delivery's, so a row recorded twice (a lease taken over) is reported once."""
    if not _ROUTES.get(connection.engine) or not outcomes:
        return
    ids = [o.claimed.id for o in outcomes if o.claimed.channel != CHANNEL]  # never a webhook's own outcome
    refused = {o.claimed.id for o in outcomes if o.hard_bounce}
    rows = connection.execute(sa.select(*_REPORTED).where(D.c.id.in_(ids))).all() if ids else []
    for row in rows:
        found = _email_event(row, row.id in refused) if row.channel == "email" else _post_event(row)
        if found is not None and _wants(connection, found[0]):
            event, data = found
            email = row.recipient.lower() if row.channel == "email" else None
            enqueue(connection, event, data, uid=f"{event}:{row.id}", email=email)
    editions_sent(connection, {r.digest_id for r in rows if r.digest_id is not None and r.subscriber_id})


def queued_failed(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """``post.failed`` for social rows queued as failed from the start (a post whose text cannot fit its
    platform, :mod:`distro.services.social`), in the transaction that queues them."""
    if not _ROUTES.get(connection.engine):
        return
    keys = [r["key"] for r in rows if r.get("status") == DeliveryStatus.FAILED and r.get("social_post_id")]
    if not keys or not _wants(connection, "post.failed"):
        return
    for row in connection.execute(sa.select(*_REPORTED).where(D.c.key.in_(keys))).all():
        found = _post_event(row)
        if found is not None:
            enqueue(connection, found[0], found[1], uid=f"{found[0]}:{row.id}")
