"""WebSub use cases: subscribe to a feed's hub, answer its verification, take its pushes, renew leases.

A feed that advertises ``<link rel="hub">`` is subscribed after a successful poll; the hub then pushes new
entries to ``web.public_url + /websub/<id>/<secret>`` within seconds, and polling stays as the fallback. The
scheduler should call :func:`renew_websub_leases` periodically (hourly is plenty) so no lease lapses.

Only the hub can reach a callback: its last segment is derived from the signing key and a random nonce of
the subscription. A verification is answered only for the request we sent and the hub has not verified yet
(``awaiting``: same topic, same mode), so a forged or replayed ``hub.lease_seconds`` is never taken; a
denial only for a subscription we asked for and still hold. Rows from before the secret callbacks (no
nonce) keep their old ``/websub/<id>`` URL until their next request, which is due at once: the hub then
verifies the new URL, and a push to the old one is answered 410 so the hub drops it.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from distro.app import App
from distro.db import session_scope
from distro.errors import SourceError
from distro.models import WebSubSubscription, utcnow
from distro.services.articles import store_pushed
from distro.services.source_list import every_source
from distro.settings import SourceSettings
from distro.sources.feed import parse_feed
from distro.sources.websub import (
    BadLease,
    callback_secret,
    hub_secret,
    parse_lease,
    request_subscription,
    signature_ok,
)
from distro.store import websub_subscriptions as subscriptions

log = logging.getLogger(__name__)

CALLBACK_PREFIX = "/websub/"
_RETRY_FAILED = timedelta(hours=6)
_PENDING_TOO_LONG = timedelta(hours=1)


def callback_url(app: App, subscription_id: int, nonce: str | None) -> str:
    """Where the hub verifies and pushes: ``/websub/<id>/<secret>`` (``/websub/<id>`` for a row without a
    nonce, i.e. from before secret callbacks, until it is requested again)."""
    path = CALLBACK_PREFIX + str(subscription_id)
    if nonce is not None:
        path += "/" + callback_secret(app.signing_key, subscription_id, nonce)
    return app.settings.web.public_url.rstrip("/") + path


def _keys(app: App) -> tuple[bytes, ...]:
    """The signing key, then any it replaced (a rotated key keeps ``previous``): callbacks and hub secrets
    handed out before a rotation keep working until the subscription is renewed."""
    return (app.signing_key, *getattr(app.signing_key, "previous", ()))


def _reaches(app: App, sub: WebSubSubscription, secret: str | None) -> bool:
    """Whether a request to the callback with path secret ``secret`` (None: the old URL) is for ``sub``."""
    if sub.callback_nonce is None or secret is None:
        return sub.callback_nonce is None and secret is None
    nonce, given = sub.callback_nonce, secret.encode()
    expected = [callback_secret(key, sub.id or 0, nonce).encode() for key in _keys(app)]
    return any(hmac.compare_digest(candidate, given) for candidate in expected)


def _config(app: App, name: str) -> SourceSettings | None:
    return next((c for c in every_source(app, include_paused=True) if c.name == name), None)


def _due(sub: WebSubSubscription, lease: int, now: datetime) -> bool:
    """Whether this subscription should be (re)requested now."""
    if sub.state == "active" and sub.callback_nonce is None:
        return True  # from before secret callbacks: move it to its secret URL now
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
        sub = subscriptions.by_topic(session, topic)
        if sub is not None and sub.hub == hub and not force and not _due(sub, lease, now):
            return sub
        if sub is None:
            sub = WebSubSubscription(source_name=config.name, topic=topic, hub=hub)
            session.add(sub)
        sub.hub, sub.requested_at, sub.last_error = hub, now, None
        sub.awaiting = "subscribe"
        old_callback = sub.callback_nonce is None and sub.state == "active"
        sub.callback_nonce = sub.callback_nonce or secrets.token_hex(16)
        if sub.state != "active":
            sub.state = "pending"
        session.flush()
        sub_id, nonce = sub.id, sub.callback_nonce
    assert sub_id is not None
    # Committed before asking: some hubs verify intent before they even answer this request.
    try:
        request_subscription(
            hub,
            topic=topic,
            callback=callback_url(app, sub_id, nonce),
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
            if old_callback:  # the hub still pushes to the old URL: keep it until a request gets through
                row.callback_nonce = None
            return row
    return subscriptions.one(app.engine, sub_id)


@dataclass(frozen=True, slots=True)
class Verification:
    status: int
    body: str


def verify_intent(
    app: App,
    subscription_id: int,
    *,
    secret: str | None,
    mode: str,
    topic: str,
    challenge: str,
    lease_seconds: str | None,
    reason: str,
) -> Verification:
    """Answer a hub's GET to the callback: echo the challenge only for the request we are awaiting.

    404 for a wrong callback secret, topic or mode, or when no request of ours is awaiting verification;
    400 for an unreadable ``hub.lease_seconds``. A denial is taken for a subscription we asked for (awaited,
    or active: a hub may revoke later; through an old secret-less URL only while awaited).
    """
    now = utcnow()
    with session_scope(app.engine) as session:
        sub = session.get(WebSubSubscription, subscription_id)
        if sub is None or not _reaches(app, sub, secret) or sub.topic != topic:
            return Verification(404, "unknown subscription or topic")
        if mode == "denied":
            held = sub.awaiting is not None or (sub.state == "active" and secret is not None)
            if not held or sub.state not in ("pending", "active"):
                return Verification(404, "no subscription of ours to deny for this topic")
            sub.state, sub.awaiting = "denied", None
            sub.last_error = f"hub denied the subscription: {reason or 'no reason'}"[:500]
            return Verification(200, "")
        if not mode or mode != sub.awaiting or sub.state not in ("pending", "active") or not challenge:
            return Verification(404, f"not expecting {mode or 'no mode'} for this topic")
        try:
            lease = parse_lease(lease_seconds, app.settings.web.websub_lease_seconds)
        except BadLease as exc:
            return Verification(400, str(exc))
        sub.state, sub.verified_at, sub.lease_seconds, sub.awaiting = "active", now, lease, None
        sub.expires_at = now + timedelta(seconds=lease)
        return Verification(200, challenge)


@dataclass(frozen=True, slots=True)
class Distribution:
    status: int
    stored: int = 0
    reason: str = ""


def receive_content(
    app: App, subscription_id: int, secret: str | None, body: bytes, signature: str | None
) -> Distribution:
    """A hub's POST of new content: checked against ``hub.secret``, then stored like a poll.

    410 (the hub stops pushing there) for an unknown callback, including an old secret-less URL of a
    subscription that has moved to its secret URL.
    """
    sub = subscriptions.get(app.engine, subscription_id)
    if sub is None or not _reaches(app, sub, secret) or sub.state not in ("active", "pending"):
        return Distribution(410, reason="no such subscription")  # tells the hub to stop
    topic, name = sub.topic, sub.source_name
    if not any(signature_ok(hub_secret(key, topic), body, signature) for key in _keys(app)):
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
    due = [s for s in subscriptions.every(app.engine) if s.state != "denied" and _due(s, lease, now)]
    renewed = []
    for sub in due:
        config = _config(app, sub.source_name) or SourceSettings(name=sub.source_name, url=sub.topic)
        renewed.append(ensure_subscription(app, config, hub=sub.hub, topic=sub.topic, force=True))
    return renewed
