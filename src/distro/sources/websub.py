"""WebSub (W3C) protocol pieces for the subscriber side: no database, no web framework.

* :func:`hub_secret` derives each subscription's ``hub.secret`` from the signing key and the topic, so
  the secret never needs storing (and is never stored in clear);
* :func:`request_subscription` asks a hub to (re)subscribe or unsubscribe a callback;
* :func:`signature_ok` checks ``X-Hub-Signature`` (``sha1=``, ``sha256=``, ``sha384=`` or ``sha512=``).
"""

from __future__ import annotations

import hashlib
import hmac

import requests

from distro.errors import SourceError
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
    return hmac.compare_digest(expected, given.strip().lower())
