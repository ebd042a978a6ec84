"""Postmark's bounce and spam complaint webhooks (one record per call).

Postmark signs nothing; its documented protections are HTTP basic auth in the webhook URL
(``https://user:password@host/hooks/bounces/postmark``) and a secret URL. Either is accepted, each compared
in constant time; every credential presented must be right, so a wrong path secret is refused even with a
right password.

    RecordType SpamComplaint                                    -> COMPLAINT
    RecordType Bounce, Type HardBounce, BadEmailAddress         -> HARD
    Type SoftBounce, Transient, DnsError, Blocked (ISP block),
         SpamNotification (delivered, then refused by a filter)  -> SOFT
    Type SpamComplaint                                          -> COMPLAINT
    Type AutoResponder (never a bounce), Unsubscribe (a reply asking it; List-Unsubscribe is the way),
         ManuallyDeactivated (Postmark's operator, not the receiver), DMARCPolicy (the sender's setup),
         VirusNotification, ChallengeVerification, Unknown, any other -> UNRECOGNISED
    RecordType Delivery, Open, Click, SubscriptionChange, ...   -> no events
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime

from pydantic import SecretStr

from distro.feedback.providers.call import (
    ForgedCall,
    JsonObject,
    MalformedCall,
    NotConfigured,
    ProviderCall,
    as_object,
    diagnostic,
    iso_time,
    parse_json,
    recipient,
    same_secret,
    status,
    text,
)
from distro.feedback.report import Feedback, Kind, Source
from distro.settings.sections import BouncesSettings

PROVIDER = "postmark"
BOUNCE_KINDS = {
    "HardBounce": Kind.HARD,
    "BadEmailAddress": Kind.HARD,
    "SoftBounce": Kind.SOFT,
    "Transient": Kind.SOFT,
    "DnsError": Kind.SOFT,
    "Blocked": Kind.SOFT,
    "SpamNotification": Kind.SOFT,
    "SpamComplaint": Kind.COMPLAINT,
}


def read(
    settings: BouncesSettings,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    *,
    path_secret: str | None = None,
) -> ProviderCall:
    """The event of one Postmark call; ``path_secret`` is the URL's last segment when the route has one.

    NotConfigured with neither basic auth nor a path secret set; ForgedCall unless a configured credential
    is presented and every presented one is right; MalformedCall (only then) for a body not in Postmark's
    shape. ``now`` is unused: Postmark's calls carry no signed time.
    """
    authenticate(settings, headers, path_secret)
    record = as_object(parse_json(body, MalformedCall, "Postmark"), "Postmark")
    event = _event(record)
    return ProviderCall(events=[event] if event else [])


def authenticate(settings: BouncesSettings, headers: Mapping[str, str], path_secret: str | None) -> None:
    """Returns only if the call presents a right, configured credential and no wrong one."""
    username, password = settings.postmark_username, settings.postmark_password
    expected_path = settings.postmark_path_secret
    basic_set = bool(username) and password is not None and bool(password.get_secret_value())
    path_set = expected_path is not None and bool(expected_path.get_secret_value())
    if not basic_set and not path_set:
        raise NotConfigured(
            "Postmark: set DISTRO_BOUNCES__POSTMARK_USERNAME and DISTRO_BOUNCES__POSTMARK_PASSWORD, "
            "or DISTRO_BOUNCES__POSTMARK_PATH_SECRET"
        )
    proven = False
    if path_secret is not None:
        if not path_set or not same_secret(path_secret, _secret(expected_path)):
            raise ForgedCall("Postmark: the secret path segment is wrong")
        proven = True
    authorization = headers.get("authorization")
    if basic_set and authorization is not None:
        if not _basic_matches(authorization, username or "", _secret(password)):
            raise ForgedCall("Postmark: the basic auth user name or password is wrong")
        proven = True
    if not proven:
        raise ForgedCall("Postmark: no credentials (basic auth or the secret path segment)")


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def _basic_matches(authorization: str, username: str, password: str) -> bool:
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, ValueError):
        return False
    given_user, colon, given_password = given.partition(":")
    # Both compared whatever the first gives, so timing does not say which was wrong.
    user_ok = same_secret(given_user, username)
    password_ok = same_secret(given_password, password)
    return bool(colon) and user_ok and password_ok


def _event(record: JsonObject) -> Feedback | None:
    what = "Postmark"
    record_type = text(record, "RecordType", what)
    bounce_type = text(record, "Type", what)
    if record_type == "SpamComplaint":
        kind = Kind.COMPLAINT
    elif record_type == "Bounce" or (record_type is None and bounce_type is not None):
        kind = BOUNCE_KINDS.get(bounce_type or "", Kind.UNRECOGNISED)
    else:
        return None
    details = text(record, "Details", what)
    return Feedback(
        kind=kind,
        source=Source.PROVIDER,
        recipient=recipient(text(record, "Email", what), what),
        status=status(None, details),
        diagnostic=diagnostic(details or text(record, "Description", what)),
        report_id=f"{PROVIDER}:{text(record, 'ID', what, required=True)}",
        provider=PROVIDER,
        occurred_at=iso_time(text(record, "BouncedAt", what), what),
    )
