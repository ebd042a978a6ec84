"""SendGrid's signed Event Webhook: a JSON array of events, signed with ECDSA P-256 / SHA-256.

Verified as Twilio SendGrid documents ("Getting Started with the Event Webhook Security Features"): the
``X-Twilio-Email-Event-Webhook-Signature`` header is a base64 DER ECDSA signature of the
``X-Twilio-Email-Event-Webhook-Timestamp`` header followed by the raw body, checked with the verification
key (base64 DER SubjectPublicKeyInfo) from SendGrid's settings page.

``replay_key`` is "sendgrid:" + SHA-256 of the *signed bytes* (timestamp and body), not of the signature:
an ECDSA signature can be re-encoded into another valid one (s -> n - s), so a key made from it would let a
captured call be replayed once more under a twin signature.

    bounce, type bounce (or none)                  -> HARD, or SOFT if its status is 4.x.x
    bounce, type blocked                           -> SOFT (refused for content or reputation)
    dropped, reason "Bounced Address" or "Invalid" -> HARD (SendGrid holds the address as bounced, or it
                                                      is not an address at all)
    dropped, reason "Spam Reporting Address"       -> COMPLAINT (the reader reported spam before)
    dropped for any other reason                   -> no events (unsubscribed, spam content, quota...)
    spamreport                                     -> COMPLAINT
    processed, delivered, deferred, open, click, unsubscribe, group_unsubscribe, ... -> no events

Only the events that become Feedback must be in shape (an ``email`` and an ``sg_event_id``); the others
are skipped unread, so one odd engagement event does not make SendGrid retry a whole batch.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from distro.feedback.providers.call import (
    ForgedCall,
    JsonObject,
    MalformedCall,
    NotConfigured,
    ProviderCall,
    as_object,
    check_fresh,
    diagnostic,
    parse_json,
    recipient,
    signed_time,
    status,
    text,
    unix_time,
)
from distro.feedback.report import Feedback, Kind, Source
from distro.settings.sections import BouncesSettings

PROVIDER = "sendgrid"
SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"
DROPPED_KINDS = {
    "Bounced Address": Kind.HARD,
    "Invalid": Kind.HARD,
    "Spam Reporting Address": Kind.COMPLAINT,
}


def read(settings: BouncesSettings, headers: Mapping[str, str], body: bytes, now: datetime) -> ProviderCall:
    """The bounce and complaint events of one SendGrid batch; NotConfigured without a usable
    ``sendgrid_public_key``, ForgedCall unless signed with it within ``max_age_seconds`` of ``now``,
    MalformedCall (only then) for a body that is not an array of event objects."""
    if not settings.sendgrid_public_key:
        raise NotConfigured("SendGrid: set DISTRO_BOUNCES__SENDGRID_PUBLIC_KEY")
    key = public_key(settings.sendgrid_public_key)
    timestamp = headers.get(TIMESTAMP_HEADER)
    verify(key, headers.get(SIGNATURE_HEADER), timestamp, body)
    max_age = timedelta(seconds=settings.max_age_seconds)
    check_fresh(signed_time(timestamp, "SendGrid"), now, max_age, "SendGrid")
    batch = parse_json(body, MalformedCall, "SendGrid")
    if not isinstance(batch, list):
        raise MalformedCall("SendGrid: the body is not a JSON array of events")
    events = [event for item in batch if (event := _event(as_object(item, "SendGrid: event")))]
    signed = f"{timestamp}.".encode() + body
    return ProviderCall(events=events, replay_key=f"{PROVIDER}:{hashlib.sha256(signed).hexdigest()}")


@lru_cache(maxsize=4)
def public_key(encoded: str) -> ec.EllipticCurvePublicKey:
    """The verification key from its base64 DER form; NotConfigured if it is not a P-256 public key."""
    try:
        key = load_der_public_key(base64.b64decode(encoded.strip(), validate=True))
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise NotConfigured(
            "SendGrid: DISTRO_BOUNCES__SENDGRID_PUBLIC_KEY is not a base64 DER P-256 public key"
        )
    return key


def verify(key: ec.EllipticCurvePublicKey, signature: str | None, timestamp: str | None, body: bytes) -> None:
    """Returns only if ``signature`` is the key's signature of ``timestamp`` followed by ``body``."""
    if not signature or not timestamp:
        raise ForgedCall("SendGrid: the signature or timestamp header is missing")
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
        key.verify(raw, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature):
        raise ForgedCall("SendGrid: the signature does not match") from None


def _kind(event: JsonObject) -> Kind | None:
    what = "SendGrid: event"
    name = text(event, "event", what)
    if name == "bounce":
        if text(event, "type", what) == "blocked":
            return Kind.SOFT
        return Kind.SOFT if (text(event, "status", what) or "").startswith("4") else Kind.HARD
    if name == "dropped":
        return DROPPED_KINDS.get(text(event, "reason", what) or "")
    if name == "spamreport":
        return Kind.COMPLAINT
    return None


def _event(event: JsonObject) -> Feedback | None:
    what = "SendGrid: event"
    kind = _kind(event)
    if kind is None:
        return None
    reason = text(event, "reason", what)
    return Feedback(
        kind=kind,
        source=Source.PROVIDER,
        recipient=recipient(text(event, "email", what), what),
        status=status(text(event, "status", what), reason),
        diagnostic=diagnostic(reason),
        report_id=f"{PROVIDER}:{text(event, 'sg_event_id', what, required=True)}",
        provider=PROVIDER,
        occurred_at=unix_time(event.get("timestamp"), what),
    )
