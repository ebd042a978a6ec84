"""Amazon SNS's HTTP(S) envelope, verified as AWS documents it ("Verifying the signatures of Amazon SNS
messages"): the documented fields joined into the string to sign, an RSA signature over it (SHA1 for
SignatureVersion 1, SHA256 for 2) by a certificate fetched from an SNS host and chained to a trusted CA,
a topic the operator listed, and a timestamp within the hour.

The signature is inside the body, so a body that is not a JSON object with the signed fields cannot be
authenticated and is a ForgedCall (401), never a MalformedCall; what the verified ``Message`` holds is
read by :mod:`distro.feedback.providers.ses`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from distro.feedback.providers.call import (
    ForgedCall,
    JsonObject,
    MalformedCall,
    NotConfigured,
    as_object,
    check_fresh,
    parse_json,
)
from distro.feedback.providers.sns_certs import CertificateFetcher, trusted_leaf
from distro.settings.sections import BouncesSettings

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"
_CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
# The fields of the string to sign, in AWS's order; "Subject" only when the message has one.
SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    SUBSCRIPTION_CONFIRMATION: _CONFIRMATION_FIELDS,
    UNSUBSCRIBE_CONFIRMATION: _CONFIRMATION_FIELDS,
}
_OPTIONAL_FIELDS = frozenset({"Subject"})
_HASHES: dict[str, type[hashes.SHA1] | type[hashes.SHA256]] = {"1": hashes.SHA1, "2": hashes.SHA256}
MAX_AGE = timedelta(hours=1)
_SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
_TYPE_HEADER = "x-amz-sns-message-type"


@dataclass(frozen=True, slots=True)
class Envelope:
    """A verified SNS message: from a listed topic, signed by SNS, at most an hour old."""

    type: str
    message_id: str
    topic_arn: str
    message: str
    timestamp: datetime
    subscribe_url: str | None  # SubscriptionConfirmation only, checked to be https on an SNS host


def verify(
    settings: BouncesSettings,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    fetch_certificate: CertificateFetcher,
) -> Envelope:
    """The envelope of an SNS call; NotConfigured without ``ses_topic_arns``, ForgedCall unless SNS
    signed it for a listed topic within the hour. The cheap checks run before any certificate is fetched."""
    if not settings.ses_topic_arns:
        raise NotConfigured("SNS: no topic is accepted; set DISTRO_BOUNCES__SES_TOPIC_ARNS")
    fields = as_object(parse_json(body, ForgedCall, "SNS"), "SNS", ForgedCall)
    kind = _signed_text(fields, "Type")
    if kind not in SIGNED_FIELDS:
        raise ForgedCall("SNS: not a Notification or a (un)subscription confirmation")
    to_sign = string_to_sign(fields)
    algorithm = _HASHES.get(str(fields.get("SignatureVersion")))
    if algorithm is None:
        raise ForgedCall("SNS: SignatureVersion is not 1 or 2")
    topic = _signed_text(fields, "TopicArn")
    if topic not in settings.ses_topic_arns:
        raise ForgedCall("SNS: the topic is not one of DISTRO_BOUNCES__SES_TOPIC_ARNS")
    timestamp = _timestamp(_signed_text(fields, "Timestamp"))
    check_fresh(timestamp, now, MAX_AGE, "SNS")
    cert_url = sns_url(fields.get("SigningCertURL"), "SigningCertURL", pem=True)
    signature = _signature(fields.get("Signature"))
    leaf = trusted_leaf(cert_url, fetch_certificate, settings.sns_ca_file, now)
    _check_signature(leaf, signature, to_sign, algorithm())
    if (header := headers.get(_TYPE_HEADER)) is not None and header != kind:
        raise MalformedCall(f"SNS: the {_TYPE_HEADER} header does not match the message's Type")
    return Envelope(
        type=kind,
        message_id=_signed_text(fields, "MessageId"),
        topic_arn=topic,
        message=_signed_text(fields, "Message"),
        timestamp=timestamp,
        subscribe_url=(
            sns_url(fields.get("SubscribeURL"), "SubscribeURL", pem=False)
            if kind == SUBSCRIPTION_CONFIRMATION
            else None
        ),
    )


def string_to_sign(fields: JsonObject) -> bytes:
    """AWS's canonical form: "Key\\nvalue\\n" for each signed field of the message's type, in order."""
    names = SIGNED_FIELDS.get(str(fields.get("Type")))
    if names is None:
        raise ForgedCall("SNS: not a Notification or a (un)subscription confirmation")
    lines: list[str] = []
    for name in names:
        if name in _OPTIONAL_FIELDS and fields.get(name) is None:
            continue
        lines += [name, _signed_text(fields, name)]
    return ("\n".join(lines) + "\n").encode()


def sns_url(value: object, what: str, *, pem: bool) -> str:
    """``value`` if it is ``https://sns.<region>.amazonaws.com[.cn]/...`` (no user info, port 443 at
    most; ending ``.pem`` for a certificate); ForgedCall otherwise, before anything is fetched from it."""
    if not isinstance(value, str):
        raise ForgedCall(f"SNS: no {what}")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ForgedCall(f"SNS: {what} is not a URL") from None
    host, _, _ = parts.netloc.lower().partition(":")
    if (
        parts.scheme != "https"
        or "@" in parts.netloc
        or port not in (None, 443)
        or not _SNS_HOST.fullmatch(host)
        or (pem and (not parts.path.endswith(".pem") or parts.query or parts.fragment))
    ):
        raise ForgedCall(f"SNS: {what} is not on an SNS host")
    return value


def _check_signature(
    leaf: x509.Certificate, signature: bytes, to_sign: bytes, algorithm: hashes.HashAlgorithm
) -> None:
    public_key = leaf.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ForgedCall("SNS: the signing certificate has no RSA key")
    try:
        public_key.verify(signature, to_sign, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise ForgedCall("SNS: the signature does not match the message") from None


def _signed_text(fields: JsonObject, name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str):
        raise ForgedCall(f"SNS: the signed field {name} is missing")
    return value


def _timestamp(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ForgedCall("SNS: Timestamp is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise ForgedCall("SNS: Timestamp has no time zone")
    return parsed


def _signature(value: object) -> bytes:
    if not isinstance(value, str):
        raise ForgedCall("SNS: no Signature")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ForgedCall("SNS: Signature is not base64") from None
