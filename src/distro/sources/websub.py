"""WebSub (W3C) protocol pieces for the subscriber side: no database, no web framework.

* :func:`hub_secret` derives each subscription's ``hub.secret`` from the signing key and the topic, so
  the secret never needs storing (and is never stored in clear);
* :func:`callback_secret` derives the secret part of a subscription's callback path from the signing key
  and a random nonce of that subscription, so only the hub we gave the URL to can reach it;
* :func:`parse_lease` reads ``hub.lease_seconds`` strictly and clamps it to what we asked for;
* :func:`request_subscription` asks a hub to (re)subscribe or unsubscribe a callback;
* :func:`signature_ok` checks ``X-Hub-Signature`` (``sha1=``, ``sha256=``, ``sha384=`` or ``sha512=``).
"""

from __future__ import annotations

import hashlib
import hmac
import re

import requests

from distro.errors import InvalidInput, SourceError
from distro.sources.fetch import PublicOnlyAdapter, redact_url

_ALGORITHMS = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}


def hub_secret(signing_key: bytes, topic: str) -> str:
    """The ``hub.secret`` for ``topic`` (40 hex characters; the spec allows up to 200 bytes)."""
    return hmac.new(signing_key, b"websub:" + topic.encode(), hashlib.sha256).hexdigest()[:40]


def callback_secret(signing_key: bytes, subscription_id: int, nonce: str) -> str:
    """The unguessable last segment of a subscription's callback URL (32 hex characters, 128 bits)."""
    message = f"websub-callback:{subscription_id}:{nonce}".encode()
    return hmac.new(signing_key, message, hashlib.sha256).hexdigest()[:32]


class BadLease(InvalidInput):
    """``hub.lease_seconds`` is not a number of seconds we can read (answered with 400)."""


MIN_LEASE_SECONDS = 300
_LEASE = re.compile(r"[0-9]{1,10}")


def parse_lease(raw: str | None, asked: int) -> int:
    """The lease to record from a verification: ``raw`` clamped to [min(300 s, asked), asked].

    A hub may grant less than we asked for; a longer or absurd lease is taken as ``asked`` (we renew on our
    own schedule, never later than we planned), a tiny one as 300 s, and a missing one (the spec requires
    it on subscribe) as ``asked``. Anything but 1-10 ASCII digits raises :class:`BadLease`.
    """
    if raw is None or raw == "":
        return asked
    if not _LEASE.fullmatch(raw):
        raise BadLease("hub.lease_seconds must be a whole number of seconds (at most 10 digits)")
    return max(min(MIN_LEASE_SECONDS, asked), min(int(raw), asked))


def request_subscription(
    hub: str,
    *,
    topic: str,
    callback: str,
    secret: str,
    lease_seconds: int,
    user_agent: str,
    mode: str = "subscribe",
    timeout: float = 20.0,
    allow_private_addresses: bool = False,
) -> None:
    """POST the subscription request; the hub answers 202 and later verifies intent at ``callback``."""
    form = {
        "hub.mode": mode,
        "hub.topic": topic,
        "hub.callback": callback,
        "hub.lease_seconds": str(lease_seconds),
        "hub.secret": secret,
    }
    where = redact_url(hub)
    with requests.Session() as session:
        if not allow_private_addresses:
            session.mount("http://", PublicOnlyAdapter())
            session.mount("https://", PublicOnlyAdapter())
        try:
            response = session.post(
                hub, data=form, headers={"User-Agent": user_agent}, timeout=timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise SourceError(where, f"WebSub hub could not be reached ({type(exc).__name__})") from None
        if response.status_code not in (202, 204):
            said = response.text[:200].strip()
            raise SourceError(where, f"WebSub hub answered {response.status_code} to {mode}: {said}")


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """True when ``X-Hub-Signature`` is a known algorithm's HMAC of ``body`` with ``secret``."""
    if not header or "=" not in header:
        return False
    method, _, given = header.strip().partition("=")
    algorithm = _ALGORITHMS.get(method.lower())
    if algorithm is None:
        return False
    expected = hmac.new(secret.encode(), body, algorithm).hexdigest()
    # Bytes: compare_digest raises TypeError for a str with non-ASCII characters (a forger's header).
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())
