"""Amazon SES bounce and complaint notifications, delivered through SNS.

The SNS envelope is verified first (:mod:`~distro.feedback.providers.sns`); its ``Message`` is SES's JSON,
either a notification (``notificationType``) or an event-publishing record (``eventType``), same shape.

    Bounce, bounceType Permanent         -> HARD, one per bounce.bouncedRecipients[]
    Bounce, bounceType Transient         -> SOFT
    Bounce, bounceType Undetermined      -> SOFT (SES could not tell; counted, suppressed after N)
    Bounce, any other bounceType         -> UNRECOGNISED
    Complaint                            -> COMPLAINT, one per complaint.complainedRecipients[]
    Complaint, feedback type "not-spam"  -> UNRECOGNISED (the reader said it is *not* spam)
    Delivery, Send, Open, ... (others)   -> no events
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from distro.feedback import verp
from distro.feedback.providers.call import (
    JsonObject,
    MalformedCall,
    ProviderCall,
    as_object,
    diagnostic,
    iso_time,
    objects,
    parse_json,
    recipient,
    status,
    text,
)
from distro.feedback.providers.sns import NOTIFICATION, SUBSCRIPTION_CONFIRMATION, verify
from distro.feedback.providers.sns_certs import CertificateFetcher
from distro.feedback.report import Feedback, Kind, Source
from distro.settings.sections import BouncesSettings

PROVIDER = "ses"
BOUNCE_KINDS = {"Permanent": Kind.HARD, "Transient": Kind.SOFT, "Undetermined": Kind.SOFT}
NOT_SPAM = "not-spam"


def read(
    settings: BouncesSettings,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    *,
    fetch_certificate: CertificateFetcher,
    bounce_address: str | None,
) -> ProviderCall:
    """The SES events of one SNS call, once SNS's signature, topic and timestamp are verified.

    A SubscriptionConfirmation gives no events and ``confirm_url`` (to GET); an UnsubscribeConfirmation
    gives nothing. ``bounce_address`` is ``[email] bounce_address`` (the VERP template), or None.
    """
    envelope = verify(settings, headers, body, now, fetch_certificate)
    if envelope.type == SUBSCRIPTION_CONFIRMATION:
        return ProviderCall(events=[], confirm_url=envelope.subscribe_url)
    if envelope.type != NOTIFICATION:
        return ProviderCall(events=[])
    message = as_object(parse_json(envelope.message.encode(), MalformedCall, "SES"), "SES")
    return ProviderCall(events=events(message, envelope.message_id, bounce_address))


def events(message: JsonObject, message_id: str, bounce_address: str | None) -> list[Feedback]:
    """The Feedback of one SES notification; ``message_id`` (SNS's) makes each event's report_id."""
    kind = text(message, "notificationType", "SES") or text(message, "eventType", "SES")
    mail = as_object(message.get("mail", {}), "SES: mail")
    token = verp.token_in(bounce_address, _verp_candidates(mail)) if bounce_address else None
    if kind == "Bounce":
        return _bounces(as_object(message.get("bounce"), "SES: bounce"), message_id, token)
    if kind == "Complaint":
        return _complaints(as_object(message.get("complaint"), "SES: complaint"), message_id, token)
    return []


def _bounces(bounce: JsonObject, message_id: str, token: str | None) -> list[Feedback]:
    what = "SES: bounce"
    kind = BOUNCE_KINDS.get(text(bounce, "bounceType", what) or "", Kind.UNRECOGNISED)
    occurred_at = iso_time(text(bounce, "timestamp", what), what)
    found = []
    for entry in objects(bounce, "bouncedRecipients", what):
        address = recipient(text(entry, "emailAddress", what), what)
        code = text(entry, "diagnosticCode", what)
        found.append(
            Feedback(
                kind=kind,
                source=Source.PROVIDER,
                recipient=address,
                status=status(text(entry, "status", what), code),
                diagnostic=diagnostic(code),
                token=token,
                report_id=f"{PROVIDER}:{message_id}:{address}",
                provider=PROVIDER,
                occurred_at=occurred_at,
            )
        )
    return found


def _complaints(complaint: JsonObject, message_id: str, token: str | None) -> list[Feedback]:
    what = "SES: complaint"
    feedback_type = text(complaint, "complaintFeedbackType", what)
    kind = Kind.UNRECOGNISED if feedback_type == NOT_SPAM else Kind.COMPLAINT
    occurred_at = iso_time(text(complaint, "timestamp", what), what)
    return [
        Feedback(
            kind=kind,
            source=Source.PROVIDER,
            recipient=(address := recipient(text(entry, "emailAddress", what), what)),
            diagnostic=diagnostic(f"feedback type: {feedback_type}" if feedback_type else None),
            token=token,
            report_id=f"{PROVIDER}:{message_id}:{address}",
            provider=PROVIDER,
            occurred_at=occurred_at,
        )
        for entry in objects(complaint, "complainedRecipients", what)
    ]


def _verp_candidates(mail: JsonObject) -> list[str | None]:
    """Where SES keeps the envelope sender: mail.source, mail.returnPath, the Return-Path header."""
    candidates = [text(mail, "source", "SES: mail"), text(mail, "returnPath", "SES: mail")]
    for header in objects(mail, "headers", "SES: mail"):
        if (text(header, "name", "SES: mail.headers") or "").lower() == "return-path":
            candidates.append(text(header, "value", "SES: mail.headers"))
    return candidates
