"""The fast DKIM signer against dkimpy's verifier: RSA and Ed25519, awkward whitespace, tampering, errors."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from dkim.canonicalization import Relaxed
from pydantic import SecretStr

from distro.compose.dkim import DkimSigner, canonical_body, signer_from_settings
from distro.compose.message import Personal, PreparedMessage, build_message_template, subscriber_slots
from distro.errors import ConfigError
from distro.settings import EmailSettings, Settings

PKCS8 = serialization.PrivateFormat.PKCS8
PEM = serialization.Encoding.PEM
Dns = Callable[..., bytes]


def rsa_pair() -> tuple[bytes, Dns]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    return key.private_bytes(PEM, PKCS8, serialization.NoEncryption()), dns_for(record)


def ed25519_pair() -> tuple[bytes, Dns]:
    key = ed25519.Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    record = b"v=DKIM1; k=ed25519; p=" + base64.b64encode(raw)
    return key.private_bytes(PEM, PKCS8, serialization.NoEncryption()), dns_for(record)


def dns_for(record: bytes) -> Dns:
    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"s1._domainkey.meridian-review.example."
        return record

    return dns


@pytest.fixture(scope="module", params=["rsa", "ed25519"])
def pair(request: pytest.FixtureRequest) -> tuple[bytes, Dns]:
    return rsa_pair() if request.param == "rsa" else ed25519_pair()


MESSAGES = {
    "plain": b"From: Desk <desk@meridian-review.example>\r\nTo: ana@example.org\r\nSubject: Week 48\r\n"
    b"\r\nHello Ana,\r\n",
    "folded and spaced headers": b"From:  Desk\t <desk@meridian-review.example>  \r\nTo: a@example.org\r\n"
    b"Subject: a very long\r\n subject\r\n\twith tabs  \r\nList-Unsubscribe: <https://x.example/u/t>,\r\n"
    b" <mailto:u@x.example?subject=unsubscribe%20t>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    b"\r\nbody",
    "whitespace runs and trailing blank lines": b"From: d@meridian-review.example\r\nSubject: s\r\n\r\n"
    b"a  b\t\tc \r\n  indented\t\r\n\r\n\r\n",
    "empty body": b"From: d@meridian-review.example\r\nSubject: s\r\n\r\n",
    "repeated header (the last is signed)": b"From: d@meridian-review.example\r\nSubject: one\r\n"
    b"Subject: two\r\n\r\nx\r\n",
}


@pytest.mark.parametrize("name", MESSAGES)
def test_dkimpy_verifies_what_we_sign(pair: tuple[bytes, Dns], name: str) -> None:
    pem, dns = pair
    signed = DkimSigner(b"s1", b"meridian-review.example", pem).sign(MESSAGES[name])
    assert signed.endswith(MESSAGES[name])
    assert dkim.verify(signed, dnsfunc=dns), name
    head = signed.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")[:8]) <= 78  # the signature header is folded


def test_any_change_to_a_signed_part_breaks_the_signature(pair: tuple[bytes, Dns]) -> None:
    pem, dns = pair
    message = MESSAGES["folded and spaced headers"]
    signed = DkimSigner(b"s1", b"meridian-review.example", pem).sign(message)
    for before, after in [
        (b"https://x.example/u/t", b"https://x.example/u/T"),
        (b"One-Click", b"one-click"),
        (b"To: a@", b"To: b@"),
        (b"\r\n\r\nbody", b"\r\n\r\nbodY"),
    ]:
        assert not dkim.verify(signed.replace(before, after, 1), dnsfunc=dns), after
    # relaxed canonicalisation: re-folding and whitespace changes in transit are harmless
    assert dkim.verify(signed.replace(b"with tabs  ", b"with  tabs"), dnsfunc=dns)


def test_relaxed_body_matches_dkimpy_on_random_bodies() -> None:
    rng = random.Random(48)
    alphabet = [b"a", b"b", b" ", b"\t", b"\r\n", b"=", b"x "]
    for _ in range(500):
        body = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert canonical_body(body) == Relaxed.canonicalize_body(body), body


def digest_message() -> bytes:
    """A digest-shaped message from the real template builder, personalised for one reader."""
    html_slots, text_slots = subscriber_slots("html"), subscriber_slots("text")
    html = f"<p>Hello {html_slots.greeting_name},</p>" + "<p>A  story\twith  spaces</p>\n" * 200
    html += f'<a href="{html_slots.unsubscribe_url}">Unsubscribe</a>'
    text = f"Hello {text_slots.greeting_name},\n\nStory one\n\nUnsubscribe: {text_slots.unsubscribe_url}\n"
    template = build_message_template(
        settings=Settings(), slug="weekly-2026-W48", subject="Week 48: Ünïcode", html=html, text=text
    )
    person = Personal(
        email="ana@example.org",
        name="Ana Müller",
        unsubscribe_url="https://meridian-review.example/unsubscribe/tok",
        unsubscribe_mailto="mailto:unsubscribe@meridian-review.example?subject=unsubscribe%20tok",
        message_id="<weekly-2026-W48.1.abc@meridian-review.example>",
        date="Mon, 23 Nov 2026 08:00:00 +0000",
    )
    return PreparedMessage.from_template(template).render(person)


def test_a_real_digest_message_verifies_with_every_list_header_signed(pair: tuple[bytes, Dns]) -> None:
    pem, dns = pair
    signed = DkimSigner(b"s1", b"meridian-review.example", pem).sign(digest_message())
    assert dkim.verify(signed, dnsfunc=dns)
    header = signed.split(b"\r\n b=", 1)[0].replace(b"\r\n ", b"")
    names = set(header.split(b"h=", 1)[1].split(b";", 1)[0].split(b":"))
    assert {b"from", b"to", b"subject", b"list-unsubscribe", b"list-unsubscribe-post", b"message-id"} <= names
    assert not dkim.verify(signed.replace(b"/unsubscribe/tok", b"/unsubscribe/tok2", 1), dnsfunc=dns)


def settings_with_key(pem: bytes) -> EmailSettings:
    return EmailSettings(
        dkim_selector="s1", dkim_domain="meridian-review.example", dkim_private_key=SecretStr(pem.decode())
    )


def test_settings_pick_the_algorithm_from_the_key() -> None:
    rsa_pem, _ = rsa_pair()
    ed_pem, _ = ed25519_pair()
    rsa_signer, ed_signer = (
        signer_from_settings(settings_with_key(rsa_pem)),
        signer_from_settings(settings_with_key(ed_pem)),
    )
    assert rsa_signer is not None and rsa_signer.algorithm == "rsa-sha256"
    assert ed_signer is not None and ed_signer.algorithm == "ed25519-sha256"
    assert "PRIVATE" not in repr(rsa_signer)


def test_unusable_keys_are_refused_with_what_to_fix_and_no_key_text() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    encrypted = ed25519.Ed25519PrivateKey.generate().private_bytes(
        PEM, PKCS8, serialization.BestAvailableEncryption(b"pass")
    )
    for pem in (ec_key.private_bytes(PEM, PKCS8, serialization.NoEncryption()), encrypted):
        with pytest.raises(ConfigError, match="RSA or Ed25519") as info:
            signer_from_settings(settings_with_key(pem))
        body = pem.decode().splitlines()[1]
        assert body not in str(info.value) and body not in repr(info.value.__cause__)
