"""DKIM signatures (RFC 6376, relaxed/relaxed) for each personalised message, fast.

A digest's messages differ per subscriber (To, Message-ID, the List-Unsubscribe token), so each one is
signed after it is personalised. dkimpy signs with pure-Python RSA (~40 ms a message), so this module does
the canonicalisation and hashing itself and signs with ``cryptography`` (OpenSSL): RSA-SHA256 (PKCS#1 v1.5)
for an RSA key, Ed25519-SHA256 (RFC 8463) for an Ed25519 key. The key is parsed once per signer. Tests
verify every signature with dkimpy's ``dkim.verify``; ``bench/digest_render.py`` measures both.

The signed headers include List-Unsubscribe and List-Unsubscribe-Post, which receivers require to be
signed before they offer one-click unsubscribe (RFC 8058 section 4), and Feedback-ID, which Google's
feedback loop only trusts signed. From, Subject and both List-Unsubscribe headers are *oversigned*: named
once more in ``h=`` than the message has them (RFC 6376 5.4.2), so a relay or attacker who adds another
instance after signing breaks the signature instead of changing what the reader sees or clicks.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import dataclass, field

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

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
    b"feedback-id",
    b"mime-version",
    b"content-type",
)
OVERSIGNED = (b"from", b"subject", b"list-unsubscribe", b"list-unsubscribe-post")
_WSP_RUN = re.compile(rb"[ \t]+")
_SPACE_RUN = re.compile(rb"  +")
_FOLD = re.compile(rb"\r\n(?![ \t])")  # a line break that does not continue a field
_B64_WIDTH = 72  # characters of b= per folded line


def canonical_body(body: bytes) -> bytes:
    """The relaxed body (RFC 6376 3.4.4): whitespace runs to one space, none at line ends, one final CRLF.

    A generic ``[ \t]+`` regex over a 60 KB digest costs about 1 ms, more than the RSA signature; tabs
    become spaces with ``bytes.replace``, then a regex with a literal prefix ("  ") collapses the runs.
    """
    if b"\t" in body:
        body = body.replace(b"\t", b" ")
    if b"  " in body:
        body = _SPACE_RUN.sub(b" ", body)
    if b" \r\n" in body:
        body = body.replace(b" \r\n", b"\r\n")
    end = len(body)
    while body.endswith(b"\r\n", 0, end):
        end -= 2
    if end == len(body):  # no final CRLF: one is added (also to a last line that ends in a space)
        return body + b"\r\n" if body else b""
    return body[: end + 2] if end else b""


def canonical_header(name: bytes, value: bytes) -> bytes:
    """``name:value`` relaxed (RFC 6376 3.4.2): lowercase name, unfolded, one space per run, no CRLF."""
    value = _WSP_RUN.sub(b" ", value.replace(b"\r\n", b"")).strip(b" ")
    return name.strip(b" \t").lower() + b":" + value


def _fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """The header block as (name, raw value) in order; continuation lines stay in the value."""
    out: list[tuple[bytes, bytes]] = []
    for line in _FOLD.split(head):
        name, sep, value = line.partition(b":")
        if sep:
            out.append((name, value))
    return out


@dataclass(frozen=True)
class DkimSigner:
    """Signs whole messages (CRLF bytes) with one PEM key; ``sign`` returns the message with its signature.

    ``ValueError`` at construction when the key cannot be read, or is neither RSA nor Ed25519.
    """

    selector: bytes
    domain: bytes
    private_key: bytes = field(repr=False)
    _key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey = field(init=False, repr=False, compare=False)
    _algorithm: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            key = serialization.load_pem_private_key(self.private_key, password=None)
        except (TypeError, UnsupportedAlgorithm) as exc:  # encrypted, or a kind OpenSSL cannot load
            raise ValueError("the DKIM key cannot be loaded") from exc
        if isinstance(key, rsa.RSAPrivateKey):
            algorithm = b"rsa-sha256"
        elif isinstance(key, ed25519.Ed25519PrivateKey):
            algorithm = b"ed25519-sha256"
        else:
            raise ValueError(f"a DKIM key must be RSA or Ed25519, not {type(key).__name__}")
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_algorithm", algorithm)

    @property
    def algorithm(self) -> str:
        return self._algorithm.decode("ascii")

    def sign(self, message: bytes, *, now: int | None = None) -> bytes:
        head, sep, body = message.partition(b"\r\n\r\n")
        if not sep:
            head, body = message.removesuffix(b"\r\n"), b""
        fields = _fields(head)
        names = signed_names(fields)
        signed = _select(fields, names)
        body_hash = base64.b64encode(hashlib.sha256(canonical_body(body)).digest())
        timestamp = int(time.time()) if now is None else now
        value = _fold_tags(
            [
                b"v=1",
                b"a=" + self._algorithm,
                b"c=relaxed/relaxed",
                b"d=" + self.domain,
                b"s=" + self.selector,
                b"t=%d" % timestamp,
                b"h=" + b":".join(names),
                b"bh=" + body_hash,
            ]
        )
        data = b"".join(canonical_header(n, v) + b"\r\n" for n, v in signed)
        data += canonical_header(b"DKIM-Signature", value + b"b=")
        signature = base64.b64encode(self._sign(data))
        lines = [signature[i : i + _B64_WIDTH] for i in range(0, len(signature), _B64_WIDTH)]
        return b"DKIM-Signature:" + value + b"b=" + b"\r\n ".join(lines) + b"\r\n" + message

    def _sign(self, data: bytes) -> bytes:
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self._key.sign(hashlib.sha256(data).digest())  # RFC 8463: Ed25519 over the SHA-256 hash


def signed_names(fields: list[tuple[bytes, bytes]]) -> list[bytes]:
    """The ``h=`` list: each signed header as often as the message has it, an oversigned one once more
    (also when absent, so it cannot be added later)."""
    counts: dict[bytes, int] = {}
    for name, _ in fields:
        key = name.strip(b" \t").lower()
        counts[key] = counts.get(key, 0) + 1
    names: list[bytes] = []
    for header in SIGNED_HEADERS:
        names += [header] * (counts.get(header, 0) + (header in OVERSIGNED))
    return names


def _select(fields: list[tuple[bytes, bytes]], names: list[bytes]) -> list[tuple[bytes, bytes]]:
    """The instances ``names`` sign, bottom up (RFC 6376 5.4.2); a name with no instance left (oversigned)
    signs nothing."""
    instances: dict[bytes, list[tuple[bytes, bytes]]] = {}
    for name, value in fields:
        instances.setdefault(name.strip(b" \t").lower(), []).append((name, value))
    return [instances[n].pop() for n in names if instances.get(n)]


def _fold_tags(tags: list[bytes]) -> bytes:
    """``" tag; tag;"`` folded to lines under 78 characters (the h= list at its colons), no trailing space."""
    pieces: list[tuple[bytes, bytes]] = []  # (text, what joins it to the next piece on one line)
    for tag in tags:
        parts = tag.split(b":") if tag.startswith(b"h=") else [tag]
        pieces += [(part + b":", b"") for part in parts[:-1]] + [(parts[-1] + b";", b" ")]
    out, width, joiner = [b" "], len(b"DKIM-Signature: "), b""
    for text, after in pieces:
        if width + len(joiner) + len(text) > 76:
            out.append(b"\r\n ")
            width = 1
        elif len(out) > 1:
            out.append(joiner)
            width += len(joiner)
        out.append(text)
        width += len(text)
        joiner = after
    out.append(b"\r\n ")  # b= starts a line of its own, as dkimpy does
    return b"".join(out)


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
    try:
        signer = DkimSigner(email.dkim_selector.encode("ascii"), email.dkim_domain.encode("ascii"), key)
    except ValueError:  # the exception text may quote the key; never pass it on
        raise ConfigError(
            "the DKIM private key cannot be read; it must be an unencrypted RSA or Ed25519 key in PEM"
        ) from None
    return signer
