"""Outgoing webhook events: :func:`emit` at the place a change happens, sent by the ``webhook`` channel.

``emit(session, event, data)`` queues, in the caller's transaction, one outbox row per ``[[webhooks]]``
entry subscribed to ``event`` (nothing when none is), so an event is sent exactly when its change is
committed, and retried, logged and shown in ``distro log`` like any other delivery. A bad configuration
never reaches here: it is refused when the settings load. Payloads carry ids, titles and URLs; a reader's
address only in the events about that reader (``subscriber.*``, ``delivery.*``); never a secret.

The places that report: :mod:`distro.services.articles` (``article.published``),
:func:`distro.store.editions.mark_queued` (``edition.queued``), :func:`distro.outbox.record`
(``edition.sent``, ``delivery.failed``, ``post.published``, ``post.failed``),
:mod:`distro.services.bounces` (``delivery.bounced``), :mod:`distro.store.subscribers` and
:mod:`distro.services.signup` (``subscriber.created``, ``subscriber.unsubscribed``), and
:func:`distro.outbox.enqueue_many` for a post queued as failed because it cannot fit its platform
(``post.failed``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlmodel import Session

from distro.app import App
from distro.channels.base import Receipt
from distro.channels.webhook import WebhookOut
from distro.dispatch import Suppressed
from distro.errors import DeliveryError, NotFound
from distro.models import Article, utcnow
from distro.outbox import Claimed
from distro.settings import WebhookSettings
from distro.store import articles as stored_articles
from distro.store import webhook_events

TEST_EVENT = "webhook.test"


def emit(session: Session, event: str, data: dict[str, object], *, key: str | None = None) -> None:
    """Queue ``event`` for every webhook that wants it, in ``session``'s transaction.

    ``key``: the event's identity when the same change may be reported twice (the second is dropped);
    ``data["email"]``, when present, marks the event as about that reader (forgetting them deletes it).
    """
    email = data.get("email")
    webhook_events.enqueue(
        session.connection(), event, data, uid=key, email=email.lower() if isinstance(email, str) else None
    )


def wanted(session: Session, event: str) -> bool:
    """Whether any webhook wants ``event`` (so a place with nothing to report skips its queries)."""
    bind = session.get_bind()
    return isinstance(bind, Engine) and bool(webhook_events.subscribed(bind, event))


def article_data(article: Article) -> dict[str, object]:
    return {
        "id": article.id,
        "url": article.url,
        "title": article.title,
        "summary": article.summary,
        "author": article.author,
        "section": article.section,
        "image_url": article.image_url,
        "published_at": article.published_at,
    }


def articles_published(session: Session, rows: Sequence[Any]) -> None:
    """``article.published`` for each new article just inserted that is news (not back catalogue)."""
    fresh = [row.url for row in rows if not row.backlog]
    if not fresh or not wanted(session, "article.published"):
        return
    for article in stored_articles.matching(session, [], fresh):
        emit(session, "article.published", article_data(article), key=f"article.published:{article.id}")


def bounced(session: Session, event_id: int, target: Any, feedback: Any, action: str) -> None:
    """``delivery.bounced`` for one bounce or complaint report just stored (its BounceEvent id is the key)."""
    if not wanted(session, "delivery.bounced"):
        return
    data: dict[str, object] = {
        "email": target.email,
        "subscriber_id": target.subscriber_id,
        "delivery_id": target.delivery_id,
        "kind": str(feedback.kind),
        "status": feedback.status,
        "source": str(feedback.source),
        "provider": feedback.provider,
        "action": action,
    }
    emit(session, "delivery.bounced", data, key=f"delivery.bounced:report:{event_id}")


def build_messages(engine: Engine, batch: Sequence[Claimed]) -> dict[int, Any]:
    """The wire message of each claimed ``webhook`` row (the dispatcher's builder calls this)."""
    rows = [c for c in batch if c.channel == webhook_events.CHANNEL]
    parsed = {c.id: webhook_events.parse_key(c.key) for c in rows}
    bodies = webhook_events.bodies(engine, [uid for _, uid in parsed.values()])
    built: dict[int, Any] = {}
    for claimed in rows:
        name, uid = parsed[claimed.id]
        body = bodies.get(uid)
        built[claimed.id] = (
            Suppressed("event deleted (its subscriber was forgotten)")
            if body is None
            else WebhookOut(claimed.key, name, body.encode("utf-8"))
        )
    return built


@dataclass(frozen=True, slots=True)
class WebhookView:
    """A configured webhook as ``distro webhooks list`` shows it: never its secret."""

    name: str
    host: str
    events: str  # comma-separated


def list_webhooks(app: App) -> list[WebhookView]:
    return [
        WebhookView(w.name, urlsplit(w.url).hostname or "?", ", ".join(w.events))
        for w in app.settings.webhooks
    ]


def _configured(app: App, name: str) -> WebhookSettings:
    for webhook in app.settings.webhooks:
        if webhook.name == name:
            return webhook
    known = ", ".join(w.name for w in app.settings.webhooks) or "none"
    raise NotFound(f"no webhook called {name!r} in [[webhooks]] (configured: {known})")


@dataclass(frozen=True, slots=True)
class TestResult:
    ok: bool
    detail: str
    webhook_id: str


def send_test(app: App, name: str) -> TestResult:
    """Send one signed ``webhook.test`` event to ``name`` now, outside the outbox; what it answered."""
    webhook = _configured(app, name)
    uid = f"test_{uuid.uuid4().hex}"
    body = webhook_events.envelope(TEST_EVENT, {"webhook": webhook.name}, utcnow())
    message = WebhookOut(webhook_events.delivery_key(webhook.name, uid), webhook.name, body.encode("utf-8"))
    channel = app.channel_factory(webhook_events.CHANNEL)
    try:
        receipt: Receipt = channel.send(message)
    except DeliveryError as exc:
        return TestResult(False, str(exc), message.key)
    finally:
        channel.close()
    return TestResult(True, receipt.detail, message.key)


def forget(session: Session, email: str) -> int:
    """Delete the stored events about ``email`` (part of forgetting a reader)."""
    return webhook_events.forget(session.connection(), email)
