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
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from distro.models import Delivery, DeliveryStatus, WebhookEvent, utcnow
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
