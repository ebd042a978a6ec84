"""Post to a Mastodon account through Mastodon.py (``POST /api/v1/statuses``, bearer token).

Limits: 500 characters by default (``mastodon.max_length`` for instances that allow more), every URL
counted as 23. The delivery's idempotency key goes out as Mastodon's ``Idempotency-Key`` header, which the
server remembers for an hour: a retry after a timeout returns the first status instead of posting twice.

Errors, as the dispatcher sees them:
    401                                ChannelFailure: the token was revoked, re-authorise the account
    429                                RateLimited until ``X-RateLimit-Reset``
    422 (validation, e.g. too long)    PermanentFailure with the server's words
    5xx, timeouts, connection errors   TemporaryFailure (the idempotency key makes the retry safe)
"""

from __future__ import annotations

import logging
import time

import requests
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from distro.channels.base import Receipt, SocialOut
from distro.errors import ChannelFailure, ConfigError, PermanentFailure, RateLimited, TemporaryFailure
from distro.settings import MastodonSettings

DEFAULT_RETRY_AFTER = 300.0  # Mastodon's windows are 5 minutes long


class MastodonChannel:
    """Sends :func:`distro.platforms.mastodon.build_body` bodies as one account's statuses; returns the id."""

    name = "mastodon"

    def __init__(self, settings: MastodonSettings, *, session: requests.Session | None = None) -> None:
        token = settings.access_token.get_secret_value() if settings.access_token is not None else ""
        if not token:
            raise ConfigError(
                "Mastodon is in API mode but DISTRO_MASTODON__ACCESS_TOKEN is not set (an access token with "
                "the write:statuses scope from the instance's Development settings), or set mastodon.mode = "
                "'file'"
            )
        self._secret = token
        self._timeout = settings.timeout
        self.max_length = settings.max_length
        self.client = Mastodon(
            access_token=token,
            api_base_url=settings.instance_url.rstrip("/"),
            request_timeout=settings.timeout,
            ratelimit_method="throw",  # the dispatcher waits, never this worker
            version_check_mode="none",
            session=session,
        )
        logging.getLogger("mastodon").setLevel(max(logging.INFO, logging.getLogger("mastodon").level))

    def send(self, message: SocialOut) -> Receipt:
        body = message.body
        text = body.get("status")
        if not isinstance(text, str) or not text.strip() or set(body) - {"status", "visibility", "language"}:
            raise PermanentFailure(
                f"post {message.key}: body is not one distro.platforms.mastodon.build_body makes "
                f"(keys {sorted(body)}); re-plan the post"
            )
        try:
            status = self.client.status_post(
                text,
                visibility=body.get("visibility"),
                language=body.get("language"),
                idempotency_key=message.key,
            )
        except MastodonUnauthorizedError as exc:
            raise ChannelFailure(
                f"Mastodon refused the access token (401: {self._words(exc)}): it was revoked or lacks "
                "write:statuses; re-authorise the account and set DISTRO_MASTODON__ACCESS_TOKEN"
            ) from exc
        except MastodonRatelimitError as exc:
            reset = getattr(self.client, "ratelimit_reset", None)
            wait = max(1.0, float(reset) - time.time()) if reset else DEFAULT_RETRY_AFTER
            raise RateLimited(f"Mastodon rate limit reached; retry in {wait:.0f}s", retry_after=wait) from exc
        except MastodonServerError as exc:
            raise TemporaryFailure(f"Mastodon server error ({self._words(exc)})") from exc
        except MastodonAPIError as exc:
            raise PermanentFailure(f"Mastodon rejected the post ({self._words(exc)})") from exc
        except MastodonNetworkError as exc:
            raise TemporaryFailure(
                f"could not reach Mastodon within {self._timeout:g}s; the retry carries the same "
                "Idempotency-Key, so it cannot post twice"
            ) from exc
        status_id = status.get("id") if isinstance(status, dict) else getattr(status, "id", None)
        if not status_id:
            raise PermanentFailure(
                "Mastodon answered without a status id; check the account before re-sending"
            )
        return Receipt(provider_id=str(status_id), detail=str(status.get("url") or ""))

    def close(self) -> None:
        self.client.session.close()

    def _words(self, exc: Exception) -> str:
        """Status and the server's error text from Mastodon.py's exception args, token masked."""
        parts = [str(a) for a in exc.args[1:] if a is not None]
        return " ".join(parts).replace(self._secret, "[redacted]") or type(exc).__name__
