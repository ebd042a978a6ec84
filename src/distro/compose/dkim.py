"""DKIM signatures (RFC 6376, dkimpy) for each personalised message.

A digest's messages differ per subscriber (To, Message-ID, the List-Unsubscribe token), so each one is
signed after it is personalised; that is the one per-message cost that is not byte substitution (see
``bench/digest_render.py``). The signed headers include List-Unsubscribe and List-Unsubscribe-Post, which
receivers require to be signed before they offer one-click unsubscribe (RFC 8058 section 4).
"""

from __future__ import annotations

from dataclasses import dataclass

import dkim

from distro.errors import ConfigError
from distro.settings import EmailSettings

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"mime-version",
    b"content-type",
)


@dataclass(frozen=True)
class DkimSigner:
    """Signs whole messages (CRLF bytes) with one key; ``sign`` returns the message with its signature."""

    selector: bytes
    domain: bytes
    private_key: bytes

    def sign(self, message: bytes) -> bytes:
        signature = dkim.sign(
            message,
            self.selector,
            self.domain,
            self.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[h for h in SIGNED_HEADERS if _has_header(message, h)],
            linesep=b"\r\n",
        )
        return signature + message


def _has_header(message: bytes, name: bytes) -> bool:
    head = message.split(b"\r\n\r\n", 1)[0].lower()
    return head.startswith(name + b":") or b"\r\n" + name + b":" in head


def signer_from_settings(email: EmailSettings) -> DkimSigner | None:
    """The signer the settings ask for, or None when DKIM is not configured.

    ConfigError names the setting to fix when DKIM is half configured or the key cannot be read; the key
    itself never appears in the message.
    """
    key: bytes | None = None
    if email.dkim_private_key is not None:
        key = email.dkim_private_key.get_secret_value().encode("utf-8")
    elif email.dkim_private_key_file is not None:
        try:
            key = email.dkim_private_key_file.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"email.dkim_private_key_file {email.dkim_private_key_file}: {exc.strerror or exc}"
            ) from None
    parts = {"email.dkim_selector": email.dkim_selector, "email.dkim_domain": email.dkim_domain}
    if key is None and not any(parts.values()):
        return None
    missing = [name for name, value in parts.items() if not value]
    if key is None:
        missing.append("email.dkim_private_key_file (or DISTRO_EMAIL__DKIM_PRIVATE_KEY)")
    if missing:
        raise ConfigError(f"DKIM is partly configured; set {', '.join(missing)}")
    assert email.dkim_selector and email.dkim_domain and key
    if b"PRIVATE KEY-----" not in key:
        raise ConfigError("the DKIM private key is not a PEM private key (-----BEGIN ... PRIVATE KEY-----)")
    signer = DkimSigner(email.dkim_selector.encode("ascii"), email.dkim_domain.encode("ascii"), key)
    try:
        signer.sign(b"From: check@example.org\r\nSubject: check\r\n\r\ncheck\r\n")
    except (dkim.DKIMException, ValueError):  # binascii.Error for a damaged PEM body
        raise ConfigError("the DKIM private key cannot sign (is it an RSA key in PEM?)") from None
    return signer
