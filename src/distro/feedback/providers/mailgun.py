"""Mailgun's JSON webhooks: ``{"signature": {"timestamp", "token", "signature"}, "event-data": {...}}``.

Verified as Mailgun documents ("Securing Webhooks"): ``signature`` is the hex HMAC-SHA256 of ``timestamp +
token`` with the HTTP webhook signing key. It does not cover ``event-data``: it proves Mailgun sent a call
within ``max_age_seconds``, and ``replay_key`` ("mailgun:" + token) lets the caller accept each token once,
so a captured signature cannot carry other events. The signature is inside the body, so a body that is not
a JSON object with a ``signature`` object is a ForgedCall, never a MalformedCall. (The legacy form-encoded
webhooks are not read.)

    failed, severity temporary                                -> SOFT
    failed, severity permanent                                -> HARD, except for the reason
        suppress-complaint (earlier complaint)                -> COMPLAINT
        suppress-unsubscribe (unsubscribed at Mailgun)        -> UNRECOGNISED
        old (retried too long, every try temporary)           -> SOFT
    complained                                                -> COMPLAINT
    delivered, accepted, opened, clicked, unsubscribed, ...   -> no events
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta

from distro.feedback.providers.call import (
    ForgedCall,
    JsonObject,
    NotConfigured,
    ProviderCall,
    as_object,
    check_fresh,
    diagnostic,
    parse_json,
    recipient,
    same_secret,
    signed_time,
    status,
    text,
    unix_time,
)
from distro.feedback.report import Feedback, Kind, Source
from distro.settings.sections import BouncesSettings

PROVIDER = "mailgun"
MAX_TOKEN = 256
PERMANENT_REASONS = {
    "suppress-complaint": Kind.COMPLAINT,
    "suppress-unsubscribe": Kind.UNRECOGNISED,
    "old": Kind.SOFT,
}


def read(settings: BouncesSettings, headers: Mapping[str, str], body: bytes, now: datetime) -> ProviderCall:
    """The event of one Mailgun call; NotConfigured without ``mailgun_signing_key``, ForgedCall unless
    signed with it within ``max_age_seconds`` of ``now``, MalformedCall for ``event-data`` out of shape."""
    key = settings.mailgun_signing_key
    if key is None or not key.get_secret_value():
        raise NotConfigured("Mailgun: set DISTRO_BOUNCES__MAILGUN_SIGNING_KEY")
    payload = as_object(parse_json(body, ForgedCall, "Mailgun"), "Mailgun", ForgedCall)
    token = verify(payload, key.get_secret_value(), now, timedelta(seconds=settings.max_age_seconds))
    data = as_object(payload.get("event-data"), "Mailgun: event-data")
    event = _event(data)
    return ProviderCall(events=[event] if event else [], replay_key=f"{PROVIDER}:{token}")


def sign(key: str, timestamp: str, token: str) -> str:
    """Mailgun's signature of ``timestamp`` and ``token`` (used by tests, like Mailgun's own samples)."""
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def verify(payload: JsonObject, key: str, now: datetime, max_age: timedelta) -> str:
    """The signed token; ForgedCall unless ``payload["signature"]`` is Mailgun's and fresh."""
    block = as_object(payload.get("signature"), "Mailgun: signature", ForgedCall)
    timestamp, token, signature = (block.get(name) for name in ("timestamp", "token", "signature"))
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)
    if not (isinstance(timestamp, str) and isinstance(token, str) and isinstance(signature, str)):
        raise ForgedCall("Mailgun: the signature block is incomplete")
    if not token or len(token) > MAX_TOKEN:
        raise ForgedCall("Mailgun: the token is missing or too long")
    if not same_secret(signature, sign(key, timestamp, token)):
        raise ForgedCall("Mailgun: the signature does not match")
    check_fresh(signed_time(timestamp, "Mailgun"), now, max_age, "Mailgun")
    return token


def _event(data: JsonObject) -> Feedback | None:
    what = "Mailgun: event-data"
    name = text(data, "event", what)
    if name == "failed":
        severity = text(data, "severity", what)
        if severity == "temporary":
            kind = Kind.SOFT
        elif severity == "permanent":
            kind = PERMANENT_REASONS.get(text(data, "reason", what) or "", Kind.HARD)
        else:
            kind = Kind.UNRECOGNISED
    elif name == "complained":
        kind = Kind.COMPLAINT
    else:
        return None
    delivery = as_object(data.get("delivery-status", {}), f"{what}: delivery-status")
    message = text(delivery, "message", what) or text(delivery, "description", what)
    return Feedback(
        kind=kind,
        source=Source.PROVIDER,
        recipient=recipient(text(data, "recipient", what), what),
        status=status(text(delivery, "enhanced-code", what), message),
        diagnostic=diagnostic(text(delivery, "code", what), message),
        report_id=f"{PROVIDER}:{text(data, 'id', what, required=True)}",
        provider=PROVIDER,
        occurred_at=unix_time(data.get("timestamp"), what),
    )
