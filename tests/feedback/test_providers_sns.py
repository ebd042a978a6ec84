"""SES through SNS: genuine notifications read into Feedback; every forgery AWS warns about refused.

Keys are made here: a trustme root and intermediate (the root written to the CA file the settings trust),
an RSA leaf for an SNS name whose private key signs AWS's string to sign, built here independently of the
code under test.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from distro.feedback.providers import ForgedCall, MalformedCall, NotConfigured, ProviderCall, ses
from distro.feedback.providers.sns_certs import forget_certificates
from distro.feedback.report import Kind, Source
from distro.settings.sections import BouncesSettings

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "providers"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TOPIC = "arn:aws:sns:eu-west-1:123456789012:distro-ses-feedback"
CERT_URL = (
    "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"
)
BOUNCE_ADDRESS = "bounces+{token}@bounces.meridian-review.example"
SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
SIGNED["UnsubscribeConfirmation"] = SIGNED["SubscriptionConfirmation"]


class Fetcher:
    """The caller's HTTP fetcher, faked at the wire: URL -> bytes, counting calls."""

    def __init__(self, served: dict[str, bytes]) -> None:
        self.served = served
        self.calls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        return self.served[url]


class Pki:
    def __init__(self, tmp: Path) -> None:
        self.root = trustme.CA()
        self.intermediate = self.root.create_child_ca()
        self.leaf = self.intermediate.issue_cert("sns.eu-west-1.amazonaws.com", key_type=trustme.KeyType.RSA)
        self.ca_file = tmp / "sns-ca.pem"
        self.root.cert_pem.write_to_path(str(self.ca_file))

    def chain(self, leaf: trustme.LeafCert | None = None) -> bytes:
        return b"".join(blob.bytes() for blob in (leaf or self.leaf).cert_chain_pems)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    forget_certificates()
    yield
    forget_certificates()


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


def settings(pki: Pki, **changes: Any) -> BouncesSettings:
    return BouncesSettings(ses_topic_arns=[TOPIC], sns_ca_file=pki.ca_file, **changes)


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return loaded


def sign(fields: dict[str, Any], key_pem: bytes, version: str = "1") -> dict[str, Any]:
    """``fields`` signed the way AWS documents: "Key\\nvalue\\n" per signed field, RSA PKCS#1 v1.5."""
    signed = dict(fields, SignatureVersion=version)
    text = "".join(f"{name}\n{signed[name]}\n" for name in SIGNED[signed["Type"]] if name in signed)
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signed["Signature"] = base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), algorithm)).decode()
    return signed


def call(
    pki: Pki,
    fields: dict[str, Any],
    *,
    fetcher: Fetcher | None = None,
    config: BouncesSettings | None = None,
    now: datetime = NOW,
    headers: dict[str, str] | None = None,
) -> ProviderCall:
    return ses.read(
        config or settings(pki),
        headers or {},
        json.dumps(fields).encode(),
        now,
        fetch_certificate=fetcher or Fetcher({CERT_URL: pki.chain()}),
        bounce_address=BOUNCE_ADDRESS,
    )


def genuine(pki: Pki, name: str = "ses_bounce_permanent.json", version: str = "1") -> dict[str, Any]:
    return sign(sample(name), pki.leaf.private_key_pem.bytes(), version)


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_permanent_bounce_is_one_hard_event_per_recipient(pki: Pki, version: str) -> None:
    fields = genuine(pki, version=version)
    result = call(pki, fields)
    assert result.confirm_url is None and result.replay_key is None
    first, second = result.events
    assert first.kind is Kind.HARD and first.source is Source.PROVIDER and first.provider == "ses"
    assert first.recipient == "gone.reader@example.net"
    assert first.status == "5.1.1"
    assert first.diagnostic is not None and "\n" not in first.diagnostic
    assert first.diagnostic.startswith("smtp; 550 5.1.1 <gone.reader@example.net>: Recipient address")
    assert first.token == "42-0123456789abcdef0123"  # from the Return-Path header
    assert first.report_id == f"ses:{fields['MessageId']}:gone.reader@example.net"
    assert first.occurred_at == datetime(2026, 11, 27, 11, 58, 3, 512000, tzinfo=UTC)
    assert second.recipient == "old@example.org" and second.kind is Kind.HARD


def test_a_transient_bounce_is_soft(pki: Pki) -> None:
    (event,) = call(pki, genuine(pki, "ses_bounce_transient.json", "2")).events
    assert (event.kind, event.recipient, event.status) == (Kind.SOFT, "full@example.com", "4.2.2")


@pytest.mark.parametrize(("bounce_type", "kind"), [("Undetermined", Kind.SOFT), ("Odd", Kind.UNRECOGNISED)])
def test_other_bounce_types(pki: Pki, bounce_type: str, kind: Kind) -> None:
    fields = sample("ses_bounce_transient.json")
    message = json.loads(fields["Message"])
    message["bounce"]["bounceType"] = bounce_type
    fields["Message"] = json.dumps(message)
    (event,) = call(pki, sign(fields, pki.leaf.private_key_pem.bytes())).events
    assert event.kind is kind


def test_a_complaint_is_a_complaint_and_not_spam_is_not(pki: Pki) -> None:
    (event,) = call(pki, genuine(pki, "ses_complaint.json")).events
    assert (event.kind, event.recipient) == (Kind.COMPLAINT, "annoyed@example.com")
    assert event.occurred_at == datetime(2026, 11, 27, 11, 59, tzinfo=UTC)
    fields = sample("ses_complaint.json")
    message = json.loads(fields["Message"])
    message["complaint"]["complaintFeedbackType"] = "not-spam"
    fields["Message"] = json.dumps(message)
    (event,) = call(pki, sign(fields, pki.leaf.private_key_pem.bytes())).events
    assert event.kind is Kind.UNRECOGNISED


def test_event_publishing_and_deliveries(pki: Pki) -> None:
    fields = sample("ses_bounce_transient.json")
    message = json.loads(fields["Message"])
    message["eventType"] = message.pop("notificationType")
    fields["Message"] = json.dumps(message)
    assert [e.kind for e in call(pki, sign(fields, pki.leaf.private_key_pem.bytes())).events] == [Kind.SOFT]
    fields["Message"] = json.dumps({"notificationType": "Delivery", "mail": {}, "delivery": {}})
    assert call(pki, sign(fields, pki.leaf.private_key_pem.bytes()), now=NOW).events == []


def test_a_subject_is_signed_when_present(pki: Pki) -> None:
    fields = dict(sample("ses_complaint.json"), Subject="Amazon SES Email Event Notification")
    signed = sign(fields, pki.leaf.private_key_pem.bytes())
    assert len(call(pki, signed).events) == 1
    with pytest.raises(ForgedCall):
        call(pki, dict(signed, Subject="Something else"))


def test_a_subscription_confirmation_gives_its_url(pki: Pki) -> None:
    fields = genuine(pki, "sns_subscription_confirmation.json", "2")
    result = call(pki, fields, headers={"x-amz-sns-message-type": "SubscriptionConfirmation"})
    assert result.events == [] and result.confirm_url == fields["SubscribeURL"]
    unsubscribed = sign(dict(fields, Type="UnsubscribeConfirmation"), pki.leaf.private_key_pem.bytes())
    assert call(pki, unsubscribed) == ProviderCall(events=[])


def test_a_subscribe_url_off_sns_is_refused(pki: Pki) -> None:
    fields = sample("sns_subscription_confirmation.json")
    fields["SubscribeURL"] = "https://sns.eu-west-1.amazonaws.com.evil.example/?Action=ConfirmSubscription"
    with pytest.raises(ForgedCall):
        call(pki, sign(fields, pki.leaf.private_key_pem.bytes()))


def test_the_certificate_is_fetched_once_for_a_burst(pki: Pki) -> None:
    fetcher = Fetcher({CERT_URL: pki.chain()})
    for name in ("ses_bounce_permanent.json", "ses_bounce_transient.json", "ses_complaint.json"):
        call(pki, genuine(pki, name), fetcher=fetcher)
    assert fetcher.calls == [CERT_URL]


def test_a_leaf_served_alone_is_chained_through_its_aia_issuer(pki: Pki) -> None:
    issuer_url = "http://crt.r2m01.amazontrust.com/r2m01.cer"
    leaf_pem, key_pem = _leaf_with_aia(pki.intermediate, issuer_url)
    intermediate_der = x509.load_pem_x509_certificate(pki.intermediate.cert_pem.bytes()).public_bytes(
        serialization.Encoding.DER
    )
    fetcher = Fetcher({CERT_URL: leaf_pem, issuer_url: intermediate_der})
    assert len(call(pki, sign(sample("ses_complaint.json"), key_pem), fetcher=fetcher).events) == 1
    assert fetcher.calls == [CERT_URL, issuer_url]
    # An issuer URL off Amazon Trust Services is never fetched, so the chain stays incomplete.
    forget_certificates()
    leaf_pem, key_pem = _leaf_with_aia(pki.intermediate, "http://evil.example/r2m01.cer")
    fetcher = Fetcher({CERT_URL: leaf_pem})
    with pytest.raises(ForgedCall, match="not trusted"):
        call(pki, sign(sample("ses_complaint.json"), key_pem), fetcher=fetcher)
    assert fetcher.calls == [CERT_URL]


def test_unconfigured_is_not_configured(pki: Pki) -> None:
    with pytest.raises(NotConfigured, match="DISTRO_BOUNCES__SES_TOPIC_ARNS"):
        call(pki, genuine(pki), config=BouncesSettings())


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.eu-west-1.amazonaws.com.evil.example/SimpleNotificationService-1.pem",
        "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://user@sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://evil.example@sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.eu-west-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.txt",
        "https://sns.eu-west-1.amazonaws.com/x.pem?y=1",
        "https://s3.amazonaws.com/bucket/SimpleNotificationService-1.pem",
        "https://evilsns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",
        "https://sns.eu-west-1.amazonaws.com\\@evil.example/x.pem",
    ],
)
def test_a_certificate_url_off_sns_is_refused_before_any_fetch(pki: Pki, url: str) -> None:
    fetcher = Fetcher({url: pki.chain()})
    fields = sign(dict(sample("ses_complaint.json"), SigningCertURL=url), pki.leaf.private_key_pem.bytes())
    with pytest.raises(ForgedCall, match="not on an SNS host"):
        call(pki, fields, fetcher=fetcher)
    assert fetcher.calls == []


def test_port_443_and_china_hosts_are_sns_hosts(pki: Pki) -> None:
    for url in (
        "https://sns.eu-west-1.amazonaws.com:443/SimpleNotificationService-1.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-1.pem",
    ):
        fields = sign(
            dict(sample("ses_complaint.json"), SigningCertURL=url), pki.leaf.private_key_pem.bytes()
        )
        assert len(call(pki, fields, fetcher=Fetcher({url: pki.chain()})).events) == 1


def test_a_tampered_message_or_foreign_signature_is_forged(pki: Pki) -> None:
    fields = genuine(pki)
    tampered = dict(fields, Message=fields["Message"].replace("Permanent", "Transient"))
    with pytest.raises(ForgedCall, match="does not match"):
        call(pki, tampered)
    other = pki.intermediate.issue_cert("sns.amazonaws.com", key_type=trustme.KeyType.RSA)
    with pytest.raises(ForgedCall, match="does not match"):
        call(pki, sign(sample("ses_bounce_permanent.json"), other.private_key_pem.bytes()))
    with pytest.raises(ForgedCall, match="does not match"):  # a v1 signature presented as v2
        call(pki, dict(fields, SignatureVersion="2"))


@pytest.mark.parametrize(
    "change",
    [
        {"TopicArn": "arn:aws:sns:eu-west-1:999999999999:someone-else"},
        {"SignatureVersion": "3"},
        {"Type": "Surprise"},
        {"Signature": "not base64!"},
        {"Timestamp": "yesterday"},
    ],
)
def test_wrong_fields_are_forged(pki: Pki, change: dict[str, str]) -> None:
    with pytest.raises(ForgedCall):
        call(pki, dict(genuine(pki), **change))


def test_a_missing_field_or_a_body_that_is_not_json_is_forged(pki: Pki) -> None:
    fields = genuine(pki)
    for name in ("Signature", "MessageId", "SigningCertURL", "Timestamp"):
        with pytest.raises(ForgedCall):
            call(pki, {key: value for key, value in fields.items() if key != name})
    for body in (b"not json", b"[]", b'"Notification"'):
        with pytest.raises(ForgedCall):
            ses.read(settings(pki), {}, body, NOW, fetch_certificate=Fetcher({}), bounce_address=None)


def test_a_stale_message_is_a_replay(pki: Pki) -> None:
    fields = genuine(pki)  # signed 11:59:30
    assert call(pki, fields, now=NOW + timedelta(minutes=59)).events
    with pytest.raises(ForgedCall, match="off"):
        call(pki, fields, now=NOW + timedelta(hours=1, minutes=1))
    with pytest.raises(ForgedCall, match="off"):
        call(pki, fields, now=NOW - timedelta(hours=2))


def test_a_certificate_from_another_ca_is_not_trusted(pki: Pki) -> None:
    stranger = trustme.CA().issue_cert("sns.eu-west-1.amazonaws.com", key_type=trustme.KeyType.RSA)
    fields = sign(sample("ses_complaint.json"), stranger.private_key_pem.bytes())
    with pytest.raises(ForgedCall, match="not trusted"):
        call(pki, fields, fetcher=Fetcher({CERT_URL: pki.chain(stranger)}))


def test_a_leaf_without_its_intermediate_is_not_trusted(pki: Pki) -> None:
    fields = genuine(pki)
    with pytest.raises(ForgedCall, match="not trusted"):
        call(pki, fields, fetcher=Fetcher({CERT_URL: pki.leaf.cert_chain_pems[0].bytes()}))


def test_an_expired_certificate_is_not_trusted(pki: Pki) -> None:
    expired = pki.intermediate.issue_cert(
        "sns.eu-west-1.amazonaws.com",
        key_type=trustme.KeyType.RSA,
        not_before=NOW - timedelta(days=400),
        not_after=NOW - timedelta(days=1),
    )
    fields = sign(sample("ses_complaint.json"), expired.private_key_pem.bytes())
    with pytest.raises(ForgedCall, match="not trusted"):
        call(pki, fields, fetcher=Fetcher({CERT_URL: pki.chain(expired)}))


@pytest.mark.parametrize("name", ["evil.example", "sns.amazonaws.com.evil.example", "s3.amazonaws.com"])
def test_a_certificate_for_another_name_is_not_sns(pki: Pki, name: str) -> None:
    other = pki.intermediate.issue_cert(name, key_type=trustme.KeyType.RSA)
    fields = sign(sample("ses_complaint.json"), other.private_key_pem.bytes())
    with pytest.raises(ForgedCall, match="not issued to an SNS name"):
        call(pki, fields, fetcher=Fetcher({CERT_URL: pki.chain(other)}))


def test_a_certificate_that_is_not_pem_is_forged(pki: Pki) -> None:
    with pytest.raises(ForgedCall, match="cannot be read"):
        call(pki, genuine(pki), fetcher=Fetcher({CERT_URL: b"<html>hello</html>"}))


def test_the_system_store_is_used_without_a_ca_file(pki: Pki) -> None:
    # The test CA is in no system store, so a genuine test signature is refused as untrusted.
    with pytest.raises(ForgedCall, match="not trusted"):
        call(pki, genuine(pki), config=BouncesSettings(ses_topic_arns=[TOPIC]))


def test_a_missing_ca_file_is_not_configured(pki: Pki, tmp_path: Path) -> None:
    config = BouncesSettings(ses_topic_arns=[TOPIC], sns_ca_file=tmp_path / "absent.pem")
    with pytest.raises(NotConfigured, match="DISTRO_BOUNCES__SNS_CA_FILE"):
        call(pki, genuine(pki), config=config)


def test_signed_but_malformed_is_malformed(pki: Pki) -> None:
    fields = dict(sample("ses_complaint.json"), Message="this is not JSON")
    with pytest.raises(MalformedCall):
        call(pki, sign(fields, pki.leaf.private_key_pem.bytes()))
    message = {"notificationType": "Bounce", "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{}]}}
    fields = dict(sample("ses_complaint.json"), Message=json.dumps(message))
    with pytest.raises(MalformedCall, match="recipient"):
        call(pki, sign(fields, pki.leaf.private_key_pem.bytes()))
    with pytest.raises(MalformedCall, match="x-amz-sns-message-type"):
        call(pki, genuine(pki), headers={"x-amz-sns-message-type": "SubscriptionConfirmation"})


def test_errors_never_repeat_the_signature(pki: Pki) -> None:
    fields = genuine(pki)
    tampered = dict(fields, Message=fields["Message"] + " ")
    with pytest.raises(ForgedCall) as refused:
        call(pki, tampered)
    assert fields["Signature"] not in str(refused.value)
    assert fields["Signature"][:16] not in str(refused.value)


def _leaf_with_aia(issuer: trustme.CA, issuer_url: str) -> tuple[bytes, bytes]:
    """A leaf as SNS serves it: alone in its PEM, naming its issuer's certificate in AIA."""
    issuer_cert = x509.load_pem_x509_certificate(issuer.cert_pem.bytes())
    issuer_key = serialization.load_pem_private_key(issuer.private_key_pem.bytes(), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    aia = x509.AccessDescription(
        AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(issuer_url)
    )
    ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")]))
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=30))
        .not_valid_after(NOW + timedelta(days=300))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("sns.amazonaws.com")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityInformationAccess([aia]), critical=False)
        .add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True
        )
        .sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem
