"""WebSub use cases: subscribe to a feed's hub, answer its verification, take its pushes, renew leases.

A feed that advertises ``<link rel="hub">`` is subscribed after a successful poll; the hub then pushes new
entries to ``web.public_url + /websub/<id>`` within seconds, and polling stays as the fallback. The
scheduler should call :func:`renew_websub_leases` periodically (hourly is plenty) so no lease lapses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select

from distro.app import App
from distro.db import session_scope
from distro.errors import SourceError
from distro.models import WebSubSubscription, utcnow
from distro.settings import SourceSettings
from distro.sources.feed import parse_feed
from distro.sources.websub import hub_secret, request_subscription, signature_ok

log = logging.getLogger(__name__)

CALLBACK_PREFIX = "/websub/"
_RETRY_FAILED = timedelta(hours=6)
_PENDING_TOO_LONG = timedelta(hours=1)


def callback_url(app: App, subscription_id: int) -> str:
    return app.settings.web.public_url.rstrip("/") + CALLBACK_PREFIX + str(subscription_id)


def _config(app: App, name: str) -> SourceSettings | None:
    return next((c for c in app.settings.sources if c.name == name), None)


def _due(sub: WebSubSubscription, lease: int, now: datetime) -> bool:
    """Whether this subscription should be (re)requested now."""
    if sub.state == "active":
        granted = sub.lease_seconds or lease  # the hub may grant less than we asked for
        return sub.expires_at is None or sub.expires_at - now < timedelta(seconds=max(granted // 5, 60))
    if sub.state == "pending":
        return sub.requested_at is None or now - sub.requested_at > _PENDING_TOO_LONG
    return sub.requested_at is None or now - sub.requested_at > _RETRY_FAILED


def ensure_subscription(
    app: App, config: SourceSettings, *, hub: str, topic: str, force: bool = False
) -> WebSubSubscription:
    """Subscribe ``topic`` at ``hub`` unless a live subscription exists (or ``force``); returns the row."""
    now = utcnow()
    lease = app.settings.web.websub_lease_seconds
    with session_scope(app.engine) as session:
        sub = session.exec(select(WebSubSubscription).where(WebSubSubscription.topic == topic)).first()
        if sub is not None and sub.hub == hub and not force and not _due(sub, lease, now):
            return sub
        if sub is None:
            sub = WebSubSubscription(source_name=config.name, topic=topic, hub=hub)
            session.add(sub)
        sub.hub, sub.requested_at, sub.last_error = hub, now, None
        if sub.state != "active":
            sub.state = "pending"
        session.flush()
        sub_id = sub.id
    assert sub_id is not None
    # Committed before asking: some hubs verify intent before they even answer this request.
    try:
        request_subscription(
            hub,
            topic=topic,
            callback=callback_url(app, sub_id),
            secret=hub_secret(app.signing_key, topic),
            lease_seconds=lease,
            user_agent=config.user_agent or app.settings.user_agent,
            timeout=config.timeout,
            allow_private_addresses=config.allow_private_addresses,
        )
    except SourceError as exc:
        with session_scope(app.engine) as session:
            row = session.get_one(WebSubSubscription, sub_id)
            row.state, row.last_error = ("failed" if row.state != "active" else "active"), str(exc)
            return row
    with session_scope(app.engine) as session:
        return session.get_one(WebSubSubscription, sub_id)


@dataclass(frozen=True, slots=True)
class Verification:
    status: int
    body: str


def verify_intent(
    app: App,
    subscription_id: int,
    *,
    mode: str,
    topic: str,
    challenge: str,
    lease_seconds: str | None,
    reason: str,
) -> Verification:
    """Answer a hub's GET to the callback: echo the challenge only for what we asked for."""
    now = utcnow()
    with session_scope(app.engine) as session:
        sub = session.get(WebSubSubscription, subscription_id)
        if sub is None or sub.topic != topic:
            return Verification(404, "unknown subscription or topic")
        if mode == "denied":
            sub.state, sub.last_error = (
                "denied",
                f"hub denied the subscription: {reason or 'no reason'}"[:500],
            )
            return Verification(200, "")
        if mode != "subscribe" or sub.state not in ("pending", "active") or not challenge:
            return Verification(404, f"not expecting {mode or 'no mode'} for this topic")
        lease = int(lease_seconds) if lease_seconds and lease_seconds.isdigit() else None
        sub.state, sub.verified_at, sub.lease_seconds = "active", now, lease
        sub.expires_at = now + timedelta(seconds=lease) if lease else None
        return Verification(200, challenge)


@dataclass(frozen=True, slots=True)
class Distribution:
    status: int
    stored: int = 0
    reason: str = ""


def receive_content(app: App, subscription_id: int, body: bytes, signature: str | None) -> Distribution:
    """A hub's POST of new content: checked against ``hub.secret``, then stored like a poll."""
    from distro.services.ingest import store_pushed

    with session_scope(app.engine) as session:
        sub = session.get(WebSubSubscription, subscription_id)
        if sub is None or sub.state not in ("active", "pending"):
            return Distribution(410, reason="no such subscription")  # tells the hub to stop
        topic, name = sub.topic, sub.source_name
    if not signature_ok(hub_secret(app.signing_key, topic), body, signature):
        # The spec says: acknowledge (2xx) but ignore, so a forger learns nothing.
        log.warning("WebSub push for %s ignored: missing or bad X-Hub-Signature", topic)
        return Distribution(202, reason="ignored: missing or bad X-Hub-Signature")
    config = _config(app, name)
    max_bytes = config.max_bytes if config else 20 * 1024 * 1024
    if len(body) > max_bytes:
        return Distribution(413, reason=f"larger than {max_bytes} bytes")
    try:
        drafts = parse_feed(body, source=f"WebSub push for {topic}", base_url=topic)
    except SourceError as exc:
        return Distribution(202, reason=f"ignored: {exc}")
    report = store_pushed(app, name, "feed", drafts)
    return Distribution(202, stored=report.new + report.updated)


def renew_websub_leases(app: App, now: datetime | None = None) -> list[WebSubSubscription]:
    """Re-subscribe each subscription whose lease ends soon (or that failed a while ago); scheduler job."""
    now = now or utcnow()
    lease = app.settings.web.websub_lease_seconds
    with session_scope(app.engine) as session:
        due = [
            s for s in session.exec(select(WebSubSubscription)) if s.state != "denied" and _due(s, lease, now)
        ]
    renewed = []
    for sub in due:
        config = _config(app, sub.source_name) or SourceSettings(name=sub.source_name, url=sub.topic)
        renewed.append(ensure_subscription(app, config, hub=sub.hub, topic=sub.topic, force=True))
    return renewed
