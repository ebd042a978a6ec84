"""Postmark, Mailgun and SendGrid webhooks: genuine calls read into Feedback, forged ones refused.

Credentials are made here (a random Mailgun key, an EC P-256 key for SendGrid); the samples under
tests/samples/providers are in each provider's documented shape. SES through SNS: test_providers_sns.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from pydantic import SecretStr

from distro.feedback.providers import (
    ForgedCall,
    MalformedCall,
    NotConfigured,
    ProviderCall,
    Reader,
    mailgun,
    postmark,
    sendgrid,
)
from distro.feedback.providers import call as common
from distro.feedback.report import Kind, Source
from distro.settings.sections import BouncesSettings

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "providers"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SIGNED_AT = "1795780770"  # 11:59:30, half a minute before NOW


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def test_every_reader_fits_the_reader_type() -> None:
    readers: list[Reader] = [mailgun.read, sendgrid.read, partial(postmark.read, path_secret=None)]
    assert len(readers) == 3


# --- Postmark -------------------------------------------------------------------------------------

POSTMARK = BouncesSettings(
    postmark_username="postmark",
    postmark_password=SecretStr("s3cret-pässword"),
    postmark_path_secret=SecretStr("path-secret-123"),
)


def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def postmark_read(record: Any, headers: dict[str, str], path_secret: str | None = None) -> ProviderCall:
    body = record if isinstance(record, bytes) else json.dumps(record).encode()
    return postmark.read(POSTMARK, headers, body, NOW, path_secret=path_secret)


def test_postmark_bounce_with_basic_auth() -> None:
    result = postmark_read(sample("postmark_bounce.json"), basic("postmark", "s3cret-pässword"))
    (event,) = result.events
    assert (event.kind, event.source, event.provider) == (Kind.HARD, Source.PROVIDER, "postmark")
    assert event.recipient == "nobody@example.com"
    assert event.status == "5.1.1"
    assert event.diagnostic == (
        "smtp;550 5.1.1 The email account that you tried to reach does not exist. Please try "
        "double-checking the recipient's email address for typos."
    )
    assert event.report_id == "postmark:4323372036854775807"
    assert event.occurred_at == datetime(2026, 11, 27, 11, 58, 54, 907025, tzinfo=UTC)
    assert result.replay_key is None and result.confirm_url is None


def test_postmark_spam_complaint_with_the_path_secret() -> None:
    (event,) = postmark_read(sample("postmark_spam_complaint.json"), {}, "path-secret-123").events
    assert (event.kind, event.recipient) == (Kind.COMPLAINT, "annoyed@example.com")
    assert event.report_id == "postmark:4323372036854775808"


@pytest.mark.parametrize(
    ("bounce_type", "kind"),
    [
        ("HardBounce", Kind.HARD),
        ("BadEmailAddress", Kind.HARD),
        ("SoftBounce", Kind.SOFT),
        ("Transient", Kind.SOFT),
        ("DnsError", Kind.SOFT),
        ("Blocked", Kind.SOFT),
        ("SpamNotification", Kind.SOFT),
        ("SpamComplaint", Kind.COMPLAINT),
        ("AutoResponder", Kind.UNRECOGNISED),
        ("ManuallyDeactivated", Kind.UNRECOGNISED),
        ("Unsubscribe", Kind.UNRECOGNISED),
        ("Unknown", Kind.UNRECOGNISED),
    ],
)
def test_postmark_bounce_types(bounce_type: str, kind: Kind) -> None:
    record = dict(sample("postmark_bounce.json"), Type=bounce_type)
    (event,) = postmark_read(record, {}, "path-secret-123").events
    assert event.kind is kind


def test_postmark_other_records_give_no_events() -> None:
    record = {"RecordType": "Delivery", "ID": 1, "Recipient": "a@example.com"}
    assert postmark_read(record, {}, "path-secret-123").events == []


@pytest.mark.parametrize(
    ("headers", "path_secret"),
    [
        (basic("postmark", "wrong"), None),
        (basic("someone", "s3cret-pässword"), None),
        (basic("postmark", "s3cret-pässword"), "wrong-path"),  # every presented credential must be right
        ({}, "wrong-path"),
        ({}, ""),
        ({}, None),
        ({"authorization": "Bearer s3cret-pässword"}, None),
        ({"authorization": "Basic ***not base64***"}, None),
        ({"authorization": "Basic " + base64.b64encode(b"postmark").decode()}, None),
    ],
)
def test_postmark_wrong_or_missing_credentials_are_forged(
    headers: dict[str, str], path_secret: str | None
) -> None:
    with pytest.raises(ForgedCall) as refused:
        postmark_read(sample("postmark_bounce.json"), headers, path_secret)
    assert "s3cret" not in str(refused.value) and "path-secret-123" not in str(refused.value)


def test_postmark_path_secret_alone_and_basic_alone() -> None:
    only_path = BouncesSettings(postmark_path_secret=SecretStr("path-secret-123"))
    body = json.dumps(sample("postmark_bounce.json")).encode()
    assert postmark.read(only_path, basic("x", "y"), body, NOW, path_secret="path-secret-123").events
    with pytest.raises(ForgedCall):
        postmark.read(only_path, basic("postmark", "s3cret-pässword"), body, NOW)
    only_basic = BouncesSettings(postmark_username="postmark", postmark_password=SecretStr("pw"))
    assert postmark.read(only_basic, basic("postmark", "pw"), body, NOW).events
    with pytest.raises(ForgedCall):
        postmark.read(only_basic, {}, body, NOW, path_secret="anything")


def test_postmark_unconfigured() -> None:
    with pytest.raises(NotConfigured, match="POSTMARK"):
        no_user = BouncesSettings(postmark_password=SecretStr("no user"))
        postmark.read(no_user, {}, b"{}", NOW, path_secret="x")


def test_postmark_authenticates_before_it_parses() -> None:
    with pytest.raises(ForgedCall):
        postmark_read(b"not json", {})
    with pytest.raises(MalformedCall):
        postmark_read(b"not json", {}, "path-secret-123")
    with pytest.raises(MalformedCall):
        postmark_read({"RecordType": "Bounce", "Type": "HardBounce", "ID": 1}, {}, "path-secret-123")


# --- Mailgun --------------------------------------------------------------------------------------

MAILGUN_KEY = secrets.token_hex(16)
MAILGUN = BouncesSettings(mailgun_signing_key=SecretStr(MAILGUN_KEY))


def mailgun_body(name_or_payload: str | dict[str, Any], **signature: str) -> bytes:
    payload = sample(name_or_payload) if isinstance(name_or_payload, str) else name_or_payload
    token = secrets.token_hex(25)
    block = {"timestamp": SIGNED_AT, "token": token}
    block["signature"] = hmac.new(
        MAILGUN_KEY.encode(), (SIGNED_AT + token).encode(), hashlib.sha256
    ).hexdigest()
    payload["signature"] = dict(block, **signature)
    return json.dumps(payload).encode()


def test_mailgun_permanent_failure_is_hard() -> None:
    body = mailgun_body("mailgun_failed_permanent.json")
    result = mailgun.read(MAILGUN, {}, body, NOW)
    (event,) = result.events
    assert (event.kind, event.provider, event.recipient) == (Kind.HARD, "mailgun", "gone@example.net")
    assert event.status == "5.1.1"
    assert event.diagnostic == "550 5.1.1 The email account that you tried to reach does not exist."
    assert event.report_id == "mailgun:G9Bn5sl1TC6nu79C8C0bwg"
    assert event.occurred_at == datetime.fromtimestamp(1795780680.501324, UTC)
    assert result.replay_key == "mailgun:" + json.loads(body)["signature"]["token"]


def test_mailgun_temporary_failure_and_complaint() -> None:
    (soft,) = mailgun.read(MAILGUN, {}, mailgun_body("mailgun_failed_temporary.json"), NOW).events
    assert (soft.kind, soft.recipient, soft.status) == (Kind.SOFT, "busy@example.org", "4.2.2")
    (complaint,) = mailgun.read(MAILGUN, {}, mailgun_body("mailgun_complained.json"), NOW).events
    assert (complaint.kind, complaint.recipient, complaint.diagnostic) == (
        Kind.COMPLAINT,
        "annoyed@example.com",
        None,
    )


@pytest.mark.parametrize(
    ("reason", "kind"),
    [("bounce", Kind.HARD), ("suppress-bounce", Kind.HARD), ("suppress-complaint", Kind.COMPLAINT),
     ("suppress-unsubscribe", Kind.UNRECOGNISED), ("old", Kind.SOFT)],
)  # fmt: skip
def test_mailgun_permanent_reasons(reason: str, kind: Kind) -> None:
    payload = sample("mailgun_failed_permanent.json")
    payload["event-data"]["reason"] = reason
    (event,) = mailgun.read(MAILGUN, {}, mailgun_body(payload), NOW).events
    assert event.kind is kind


def test_mailgun_other_events_give_none() -> None:
    payload = sample("mailgun_complained.json")
    payload["event-data"]["event"] = "delivered"
    assert mailgun.read(MAILGUN, {}, mailgun_body(payload), NOW).events == []


@pytest.mark.parametrize(
    "signature",
    [
        {"signature": "0" * 64},
        {"token": "another-token"},  # the signature no longer covers it
        {"timestamp": "1795780771"},
        {"signature": ""},
        {"timestamp": "soon"},
    ],
)
def test_mailgun_forged_signatures(signature: dict[str, str]) -> None:
    with pytest.raises(ForgedCall) as refused:
        mailgun.read(MAILGUN, {}, mailgun_body("mailgun_failed_permanent.json", **signature), NOW)
    assert MAILGUN_KEY not in str(refused.value)


def test_mailgun_wrong_key_stale_and_unsigned() -> None:
    body = mailgun_body("mailgun_failed_permanent.json")
    with pytest.raises(ForgedCall, match="does not match"):
        mailgun.read(BouncesSettings(mailgun_signing_key=SecretStr(secrets.token_hex(16))), {}, body, NOW)
    with pytest.raises(ForgedCall, match="300s"):
        mailgun.read(MAILGUN, {}, body, NOW + timedelta(minutes=6))
    assert mailgun.read(MAILGUN, {}, body, NOW + timedelta(minutes=4)).events
    for unsigned in (
        b"not json",
        b"[]",
        json.dumps(sample("mailgun_complained.json") | {"signature": None}).encode(),
    ):
        with pytest.raises(ForgedCall):
            mailgun.read(MAILGUN, {}, unsigned, NOW)


def test_mailgun_unconfigured_and_malformed() -> None:
    with pytest.raises(NotConfigured, match="DISTRO_BOUNCES__MAILGUN_SIGNING_KEY"):
        mailgun.read(BouncesSettings(), {}, mailgun_body("mailgun_complained.json"), NOW)
    payload = sample("mailgun_failed_permanent.json")
    del payload["event-data"]["recipient"]
    with pytest.raises(MalformedCall):
        mailgun.read(MAILGUN, {}, mailgun_body(payload), NOW)
    with pytest.raises(MalformedCall):
        mailgun.read(MAILGUN, {}, mailgun_body({"event-data": "failed"}), NOW)


# --- SendGrid -------------------------------------------------------------------------------------

SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC = base64.b64encode(
    SENDGRID_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
SENDGRID = BouncesSettings(sendgrid_public_key=SENDGRID_PUBLIC)


def sendgrid_headers(
    body: bytes, timestamp: str = SIGNED_AT, key: ec.EllipticCurvePrivateKey = SENDGRID_KEY
) -> dict[str, str]:
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        sendgrid.SIGNATURE_HEADER: base64.b64encode(signature).decode(),
        sendgrid.TIMESTAMP_HEADER: timestamp,
    }


def batch_body(events: list[dict[str, Any]] | None = None) -> bytes:
    return json.dumps(events if events is not None else sample("sendgrid_batch.json")).encode()


def test_sendgrid_batch() -> None:
    body = batch_body()
    result = sendgrid.read(SENDGRID, sendgrid_headers(body), body, NOW)
    hard, blocked, complaint = result.events
    assert (hard.kind, hard.recipient, hard.status, hard.diagnostic) == (
        Kind.HARD, "gone@example.com", "5.0.0", "500 unknown recipient",
    )  # fmt: skip
    assert hard.report_id == "sendgrid:6g4ZI7SA-xmRDv57GoPIPw==" and hard.provider == "sendgrid"
    assert hard.occurred_at == datetime(2026, 11, 27, 11, 58, tzinfo=UTC)
    assert (blocked.kind, blocked.recipient, blocked.status) == (Kind.SOFT, "filtered@example.org", "5.7.1")
    assert (complaint.kind, complaint.recipient) == (Kind.COMPLAINT, "annoyed@example.com")
    assert result.replay_key == "sendgrid:" + hashlib.sha256(SIGNED_AT.encode() + b"." + body).hexdigest()


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ({"event": "bounce", "type": "bounce", "status": "4.2.2", "reason": "452 mailbox full"}, Kind.SOFT),
        ({"event": "bounce", "status": "5.1.1"}, Kind.HARD),
        ({"event": "dropped", "reason": "Bounced Address", "status": "5.0.0"}, Kind.HARD),
        ({"event": "dropped", "reason": "Invalid"}, Kind.HARD),
        ({"event": "dropped", "reason": "Spam Reporting Address"}, Kind.COMPLAINT),
        ({"event": "dropped", "reason": "Unsubscribed Address"}, None),
        ({"event": "deferred", "response": "400 try again later", "attempt": "5"}, None),
        ({"event": "click", "url": "https://meridian-review.example/"}, None),
    ],
)
def test_sendgrid_event_kinds(event: dict[str, Any], kind: Kind | None) -> None:
    body = batch_body([dict(event, email="r@example.com", timestamp=1795780680, sg_event_id="id-1")])
    events = sendgrid.read(SENDGRID, sendgrid_headers(body), body, NOW).events
    assert [e.kind for e in events] == ([kind] if kind else [])


def test_sendgrid_forgeries() -> None:
    body = batch_body()
    headers = sendgrid_headers(body)
    with pytest.raises(ForgedCall, match="does not match"):
        sendgrid.read(SENDGRID, headers, body.replace(b"spamreport", b"delivered"), NOW)
    with pytest.raises(ForgedCall, match="does not match"):
        sendgrid.read(
            SENDGRID, sendgrid_headers(body, key=ec.generate_private_key(ec.SECP256R1())), body, NOW
        )
    with pytest.raises(ForgedCall, match="does not match"):
        sendgrid.read(SENDGRID, dict(headers, **{sendgrid.TIMESTAMP_HEADER: "1795780771"}), body, NOW)
    with pytest.raises(ForgedCall, match="does not match"):
        sendgrid.read(SENDGRID, dict(headers, **{sendgrid.SIGNATURE_HEADER: "%%%"}), body, NOW)
    for missing in (sendgrid.SIGNATURE_HEADER, sendgrid.TIMESTAMP_HEADER):
        with pytest.raises(ForgedCall, match="missing"):
            sendgrid.read(SENDGRID, {k: v for k, v in headers.items() if k != missing}, body, NOW)
    with pytest.raises(ForgedCall, match="300s"):
        sendgrid.read(SENDGRID, headers, body, NOW + timedelta(minutes=10))
    with pytest.raises(ForgedCall, match="timestamp"):
        sendgrid.read(SENDGRID, sendgrid_headers(body, timestamp="noon"), body, NOW)


def test_sendgrid_replay_key_survives_a_twin_signature() -> None:
    body = batch_body()
    headers = sendgrid_headers(body)
    r, s = decode_dss_signature(base64.b64decode(headers[sendgrid.SIGNATURE_HEADER]))
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # of P-256
    twin = {
        **headers,
        sendgrid.SIGNATURE_HEADER: base64.b64encode(encode_dss_signature(r, order - s)).decode(),
    }
    first = sendgrid.read(SENDGRID, headers, body, NOW)
    again = sendgrid.read(SENDGRID, twin, body, NOW)  # a valid signature too: ECDSA is malleable
    assert again.replay_key == first.replay_key


def test_sendgrid_unconfigured_and_misconfigured() -> None:
    body = batch_body()
    with pytest.raises(NotConfigured, match="DISTRO_BOUNCES__SENDGRID_PUBLIC_KEY"):
        sendgrid.read(BouncesSettings(), sendgrid_headers(body), body, NOW)
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    wrong_curve = base64.b64encode(
        p384.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()
    for key in ("not base64!", base64.b64encode(b"junk").decode(), wrong_curve):
        with pytest.raises(NotConfigured, match="not a base64 DER P-256"):
            sendgrid.read(BouncesSettings(sendgrid_public_key=key), sendgrid_headers(body), body, NOW)


def test_sendgrid_signed_but_malformed() -> None:
    for body in (
        b"not json",
        b'{"event": "bounce"}',
        b"[1, 2]",
        batch_body([{"event": "bounce", "sg_event_id": "x"}]),
    ):
        with pytest.raises(MalformedCall):
            sendgrid.read(SENDGRID, sendgrid_headers(body), body, NOW)
    with pytest.raises(ForgedCall):  # unsigned garbage is refused before it is parsed
        sendgrid.read(SENDGRID, {}, b"not json", NOW)


# --- shared readers -------------------------------------------------------------------------------


def test_diagnostic_is_one_printable_line_of_at_most_500_characters() -> None:
    line = common.diagnostic("550\r\n5.1.1\tgone\x00" + "x" * 600)
    assert line is not None and len(line) == 500 and line.startswith("550 5.1.1 gone x")
    assert common.diagnostic(None, "  ") is None


def test_status_and_times() -> None:
    assert common.status(None, "smtp; 550 5.1.1 user unknown") == "5.1.1"
    assert common.status("5.0.0", "4.2.2") == "5.0.0"
    assert common.status("bounce", None) is None
    assert common.iso_time("2026-11-27T11:58:54", "x") == datetime(2026, 11, 27, 11, 58, 54, tzinfo=UTC)
    assert common.iso_time("2026-11-27T12:58:54+01:00", "x") == datetime(2026, 11, 27, 11, 58, 54, tzinfo=UTC)
    with pytest.raises(MalformedCall):
        common.iso_time("Friday", "x")
    with pytest.raises(MalformedCall):
        common.unix_time(True, "x")
