"""Post to Bluesky through the atproto SDK (``com.atproto.repo.createRecord`` of an ``app.bsky.feed.post``).

The record, its 300-grapheme limit and its link and tag facets (UTF-8 byte ranges) are
:mod:`distro.platforms.bluesky`'s; this module only sends it. The session comes from
``com.atproto.server.createSession`` with the account's handle and an app password.

A retry never double-posts: the record key (``rkey``) is a TID derived from the delivery's idempotency
key, so a second ``createRecord`` for the same delivery finds the first record instead of making another.

Errors: 401/403 (bad app password, revoked session) -> ChannelFailure; 429 -> RateLimited until
``ratelimit-reset``; 400 -> PermanentFailure, except "already exists" -> the existing record;
5xx, 409/413/502 and timeouts -> TemporaryFailure.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:  # the SDK takes 1.5 s to import: only the API channel loads it, not body building
    from atproto_client import exceptions as at

from distro.channels.base import Receipt, SocialOut
from distro.errors import ChannelFailure, ConfigError, PermanentFailure, RateLimited, TemporaryFailure
from distro.platforms.bluesky import LIMIT, RECORD_TYPE
from distro.settings import BlueskySettings

DEFAULT_RETRY_AFTER = 300.0
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def record_key(key: str) -> str:
    """A valid TID (13 base32-sortable characters) derived from the idempotency key, stable across retries."""
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") & ((1 << 63) - 1)
    return "".join(_TID_ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(13)))


class BlueskyChannel:
    """Sends ``distro.platforms.bluesky.build_body`` records to one account; returns their ``at://`` URI."""

    name = "bluesky"
    max_length = LIMIT

    def __init__(self, settings: BlueskySettings, *, transport: httpx.BaseTransport | None = None) -> None:
        password = settings.app_password.get_secret_value() if settings.app_password is not None else ""
        if not settings.handle or not password:
            raise ConfigError(
                "Bluesky is in API mode but bluesky.handle or DISTRO_BLUESKY__APP_PASSWORD is not set "
                "(create an app password under Settings > Privacy and security), or set bluesky.mode = 'file'"
            )
        self._handle, self._password = settings.handle, password
        self._timeout = settings.timeout
        from atproto import Client

        self.client = Client(base_url=settings.service_url.rstrip("/") + "/xrpc")
        # The SDK's httpx client, given our timeout (and, in tests, a transport that ends in a fake PDS).
        self.client.request._client = httpx.Client(
            follow_redirects=True, timeout=settings.timeout, transport=transport
        )
        self._did: str | None = None

    def send(self, message: SocialOut) -> Receipt:
        record = message.body
        if record.get("$type") != RECORD_TYPE or not isinstance(record.get("text"), str):
            raise PermanentFailure(
                f"post {message.key}: body is not one distro.platforms.bluesky.build_body makes; "
                "re-plan the post"
            )
        from atproto_client import exceptions as at

        rkey = record_key(message.key)
        try:
            did = self._login()
            try:
                response = self.client.com.atproto.repo.create_record(
                    {"repo": did, "collection": RECORD_TYPE, "rkey": rkey, "record": record}
                )
            except at.BadRequestError as exc:
                if "already exists" not in str(exc).lower():
                    raise
                existing = self.client.com.atproto.repo.get_record(
                    {"repo": did, "collection": RECORD_TYPE, "rkey": rkey}
                )
                return Receipt(provider_id=existing.uri, detail="already posted by an earlier try")
        except at.AtProtocolError as exc:
            raise self._failure(exc) from exc
        return Receipt(provider_id=response.uri, detail=response.cid)

    def close(self) -> None:
        self.client.request._client.close()

    def _login(self) -> str:
        if self._did is None:
            session = self.client.com.atproto.server.create_session(
                {"identifier": self._handle, "password": self._password}
            )
            self.client.request.add_additional_header("Authorization", f"Bearer {session.access_jwt}")
            self._did = session.did
        return self._did

    def _failure(self, exc: at.AtProtocolError) -> Exception:
        from atproto_client import exceptions as at

        text = str(exc).replace(self._password, "[redacted]")
        response = getattr(exc, "response", None)
        if isinstance(exc, at.UnauthorizedError):
            self._did = None
            return ChannelFailure(
                f"Bluesky refused the login or session ({text}); create a new app password for "
                f"{self._handle} and set DISTRO_BLUESKY__APP_PASSWORD"
            )
        if isinstance(exc, at.RateLimitExceededError):
            reset = (response.headers or {}).get("ratelimit-reset") if response is not None else None
            wait = max(1.0, float(reset) - time.time()) if reset else DEFAULT_RETRY_AFTER
            return RateLimited(f"Bluesky rate limit reached ({text}); retry in {wait:.0f}s", retry_after=wait)
        if isinstance(exc, at.BadRequestError):
            return PermanentFailure(f"Bluesky rejected the post ({text})")
        if isinstance(exc, at.InvokeTimeoutError):
            return TemporaryFailure(
                f"Bluesky did not answer within {self._timeout:g}s; the retry reuses the rkey"
            )
        return TemporaryFailure(f"Bluesky error, worth retrying ({text or type(exc).__name__})")
