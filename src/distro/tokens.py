"""Signed, scoped tokens for links in emails (unsubscribe, preferences, tracked links).

A token names a subscriber and a scope and carries an HMAC-SHA256 tag, so a link cannot be guessed from a
database id and an unsubscribe token cannot be replayed as a preferences token. Tokens do not expire:
RFC 8058 expects an unsubscribe link in an old email to keep working, and so does a rotated key. A
:class:`SigningKey` signs with the current key and, when reading, accepts the keys it replaced
(``DISTRO_SECRET_KEY_PREVIOUS``), so links already in inboxes keep working after a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from distro.errors import Refused

TAG_BYTES = 16


class InvalidToken(Refused):
    """The token was altered, truncated, or made for another scope."""


class SigningKey(bytes):
    """The current key (these bytes: everything signs with them) and ``previous``, the keys it replaced,
    which :func:`read_token` and :func:`read_sealed` still accept. It is ``bytes``, so every HMAC made
    with ``app.signing_key`` keeps working unchanged."""

    previous: tuple[bytes, ...]

    def __new__(cls, current: bytes, previous: Iterable[bytes] = ()) -> SigningKey:
        key = super().__new__(cls, current)
        key.previous = tuple(k for k in previous if k and k != current)
        return key

    def __repr__(self) -> str:
        return f"SigningKey(<{len(self)} bytes>, previous=<{len(self.previous)}>)"


def verification_keys(key: bytes) -> tuple[bytes, ...]:
    """The keys a token may be signed with: the current one first, then those it replaced."""
    return (key, *key.previous) if isinstance(key, SigningKey) else (key,)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _tag(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:TAG_BYTES]


def make_token(key: bytes, scope: str, subject_id: int) -> str:
    """A token for ``subject_id`` in ``scope``, signed with the current key (never a previous one)."""
    payload = f"{scope}:{subject_id}".encode()
    return f"{_b64(payload)}.{_b64(_tag(key, payload))}"


def _verified(key: bytes, token: str) -> tuple[str, str]:
    """The (scope, subject) a token names, once its tag matches; :class:`InvalidToken` otherwise."""
    try:
        body, tag = token.split(".", 1)
        payload = _unb64(body)
        given = _unb64(tag)
    except (ValueError, UnicodeError):
        raise InvalidToken("malformed token") from None
    # Every key is tried (no early exit), so the time taken does not tell which key matched.
    matches = [hmac.compare_digest(given, _tag(k, payload)) for k in verification_keys(key)]
    if not any(matches):
        raise InvalidToken("token signature does not match")
    token_scope, _, subject = payload.decode("ascii", "replace").partition(":")
    return token_scope, subject


def read_token(key: bytes, scope: str, token: str) -> int:
    """Return the subject id, or raise :class:`InvalidToken`."""
    token_scope, subject = _verified(key, token)
    if token_scope != scope or not subject.isdigit():
        raise InvalidToken(f"token is not valid for {scope}")
    return int(subject)


def read_sealed(key: bytes, scope: str, token: str) -> tuple[int, str]:
    """Read a token made with scope ``f"{scope}-{seal}"``: return (subject id, seal), or InvalidToken.

    A seal is a digest of the subject row's own values. The caller recomputes it from the row it loads, so
    the token fits only the row it was made for, even after the database gives that id to another row.
    """
    token_scope, subject = _verified(key, token)
    base, _, seal = token_scope.partition("-")
    if base != scope or not seal or not subject.isdigit():
        raise InvalidToken(f"token is not valid for {scope}")
    return int(subject), seal


def sign_fields(key: bytes, scope: str, *fields: str | int) -> str:
    """A token naming several values in ``scope`` (a tracked link: the edition and the link), signed like
    :func:`make_token`: ``<base64url(scope:field:...)>.<base64url(128-bit tag)>``. A field is ASCII
    without ":" (ValueError otherwise), so no value can pose as two."""
    parts = [str(field) for field in fields]
    if any(":" in part or not part.isascii() for part in [scope, *parts]):
        raise ValueError("a signed field is ASCII without ':'")
    payload = ":".join([scope, *parts]).encode()
    return f"{_b64(payload)}.{_b64(_tag(key, payload))}"


def read_fields(key: bytes, scope: str, token: str, count: int) -> tuple[str, ...]:
    """The ``count`` fields of a :func:`sign_fields` token of ``scope``, or :class:`InvalidToken`."""
    token_scope, rest = _verified(key, token)
    fields = tuple(rest.split(":"))
    if token_scope != scope or len(fields) != count or not all(fields):
        raise InvalidToken(f"token is not valid for {scope}")
    return fields


def load_or_create_key(configured: str | None, key_file: Path) -> bytes:
    """Use the configured key, else the one in ``key_file``, else create that file (mode 0600).

    The generated file lets the embedded default work with no setup while keeping tokens stable across runs.
    """
    if configured:
        return configured.encode()
    if key_file.exists():
        return key_file.read_text().strip().encode()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value.encode()


BOUNCE_TAG_CHARS = 20  # 80 bits of HMAC, as hex


def _bounce_tag(key: bytes, delivery_id: int) -> str:
    return hmac.new(key, f"bounce:{delivery_id}".encode(), hashlib.sha256).hexdigest()[:BOUNCE_TAG_CHARS]


def bounce_token(key: bytes, delivery_id: int) -> str:
    """The VERP token of one delivery, ``<id>-<hex tag>``: lower-case letters, digits and a hyphen only,
    because it travels in an address's local part, which relays may case-fold and must not have to quote."""
    return f"{delivery_id}-{_bounce_tag(key, delivery_id)}"


def read_bounce_token(key: bytes, token: str) -> int:
    """The delivery id a VERP token names, or :class:`InvalidToken` (forged, altered, truncated)."""
    subject, _, tag = token.strip().lower().partition("-")
    if not subject.isdigit() or len(subject) > 18 or len(tag) != BOUNCE_TAG_CHARS:
        raise InvalidToken("malformed bounce token")
    delivery_id = int(subject)
    matches = [hmac.compare_digest(tag, _bounce_tag(k, delivery_id)) for k in verification_keys(key)]
    if not any(matches):
        raise InvalidToken("bounce token signature does not match")
    return delivery_id
