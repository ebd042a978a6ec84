"""POST events to the configured ``[[webhooks]]``, signed per the Standard Webhooks specification.

Each request carries ``webhook-id`` (the delivery's idempotency key, the same on every retry, so a receiver
can drop a repeat), ``webhook-timestamp`` (Unix seconds of this try) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` keyed with the secret's bytes after
``whsec_``). The body is stored once per event, so every try sends the same bytes.

Redirects are never followed (a receiver that moved answers 3xx, which fails the delivery and names the
setting to change), and unless ``allow_private_addresses`` the URL's host is checked against loopback,
private and link-local addresses before each try (the check is injected by the composition root: it is the
source fetcher's, which a channel may not import).

Errors, as the dispatcher sees them:
    2xx                                 sent; the status is the receipt
    408, 5xx, timeouts, connection      TemporaryFailure (``Retry-After`` respected), retried with backoff
    429                                 RateLimited until ``Retry-After`` (backoff without one)
    3xx, other 4xx, a refused address   PermanentFailure with the receiver's status and words
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests

from distro.channels._http import TimeoutSession
from distro.channels.base import Receipt
from distro.errors import PermanentFailure, RateLimited, TemporaryFailure
from distro.settings import WebhookSettings

# Raises PermanentFailure (refused) or TemporaryFailure (cannot resolve now) for a URL it will not reach;
# the second argument names the setting that would allow it.
AddressCheck = Callable[[str, str], None]
DEFAULT_TIMEOUT = 10.0
_WORDS = 200  # how much of a refusing receiver's body goes into the log


@dataclass(frozen=True, slots=True)
class WebhookOut:
    """One event for one webhook: its stored JSON body, sent as is."""

    key: str  # the delivery's idempotency key: the webhook-id header
    webhook: str  # the [[webhooks]] name
    body: bytes


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value of one request (Standard Webhooks, scheme v1)."""
    signed = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    value = (value or "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class WebhookChannel:
    """Sends :class:`WebhookOut` messages to the webhook each names; returns the receiver's status."""

    name = "webhook"

    def __init__(
        self,
        webhooks: Sequence[WebhookSettings],
        *,
        user_agent: str,
        check_address: AddressCheck | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._webhooks = {webhook.name: webhook for webhook in webhooks}
        self._user_agent = user_agent
        self._check = check_address
        # Each request passes its webhook's timeout; the session's default is for anything that does not.
        self._session = TimeoutSession.replacing(session or requests.Session(), DEFAULT_TIMEOUT)
        self._clock = clock

    def send(self, message: WebhookOut) -> Receipt:
        webhook = self._webhooks.get(message.webhook)
        if webhook is None:
            raise PermanentFailure(f"webhook {message.webhook!r} is no longer in [[webhooks]]; not sent")
        if not webhook.allow_private_addresses and self._check is not None:
            self._check(webhook.url, f"webhooks.{webhook.name}")
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self._user_agent,
            "webhook-id": message.key,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(webhook.key(), message.key, timestamp, message.body),
        }
        host = urlsplit(webhook.url).hostname or "?"
        try:
            response = self._session.post(
                webhook.url,
                data=message.body,
                headers=headers,
                timeout=webhook.timeout,
                allow_redirects=False,
                stream=True,  # only the first words of a refusal are read
            )
        except requests.Timeout as exc:
            raise TemporaryFailure(
                f"webhook {webhook.name}: {host} did not answer in {webhook.timeout:g}s"
            ) from exc
        except requests.RequestException as exc:
            raise TemporaryFailure(
                f"webhook {webhook.name}: could not reach {host} ({type(exc).__name__})"
            ) from exc
        with response:
            return self._outcome(webhook, host, response)

    def _outcome(self, webhook: WebhookSettings, host: str, response: requests.Response) -> Receipt:
        status = response.status_code
        said = f"webhook {webhook.name}: {host} answered {status}"
        if 200 <= status < 300:
            return Receipt(provider_id=str(status), detail=said)
        wait = retry_after(response.headers.get("Retry-After"))
        if status == 429:
            raise RateLimited(f"{said} (too many requests)", retry_after=wait)
        if status == 408 or status >= 500:
            raise TemporaryFailure(f"{said}; will retry", retry_after=wait)
        if 300 <= status < 400:
            where = urlsplit(response.headers.get("Location", "")).hostname or "elsewhere"
            raise PermanentFailure(
                f"{said}, redirecting to {where}; redirects are not followed: set the url of webhook "
                f"{webhook.name} to the final address"
            )
        first = next(response.iter_content(_WORDS), b"")
        words = " ".join(first.decode("utf-8", "replace").split())
        raise PermanentFailure(f"{said}: {words}" if words else said)

    def close(self) -> None:
        self._session.close()
