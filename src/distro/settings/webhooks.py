"""``[[webhooks]]``: outgoing webhooks, each a URL, the events it wants and the name of the variable
holding its signing secret.

The secret itself is never a setting: ``secret_env`` names an environment variable whose value is a
Standard Webhooks secret (``whsec_`` and base64 of at least 24 random bytes, e.g. ``whsec_$(openssl rand
-base64 32)``). It is read and checked when the settings load, so a missing variable or a malformed value
stops ``distro`` at start-up with a message naming the variable, never at send time. The secret is kept in a
private attribute: it is not a field, so printing or dumping the settings cannot show it.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, PrivateAttr, SecretStr, field_validator, model_validator

from distro.settings.sections import _Section

EVENTS = (
    "article.published",
    "edition.queued",
    "edition.sent",
    "delivery.failed",
    "delivery.bounced",
    "subscriber.created",
    "subscriber.unsubscribed",
    "post.published",
    "post.failed",
)
"""The events a webhook may subscribe to (``webhook.test`` is sent by ``distro webhooks test`` only)."""

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24  # the specification asks for 24 to 64 random bytes
WEBHOOK_NAME = r"^[a-z0-9][a-z0-9_-]{0,39}$"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class WebhookSettings(_Section):
    """One endpoint: where to POST, which events, the variable holding its secret, how long to wait."""

    name: str = Field(pattern=WEBHOOK_NAME)
    url: str
    events: list[str] = Field(min_length=1)
    secret_env: str
    timeout: float = Field(default=10.0, gt=0, le=60)
    # Loopback and private addresses are refused (SSRF) unless this says the receiver lives there.
    allow_private_addresses: bool = False
    _secret: SecretStr = PrivateAttr(default=SecretStr(""))

    @model_validator(mode="before")
    @classmethod
    def _no_secret_in_file(cls, data: Any) -> Any:
        if isinstance(data, dict) and "secret" in data:
            raise ValueError(
                "a webhook's secret never goes in the configuration; set secret_env to the name of an "
                "environment variable holding it (whsec_<base64>)"
            )
        return data

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
        except ValueError as exc:
            raise ValueError(f"url {value!r} is not a URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be an http:// or https:// URL with a host, not {value!r}")
        if parts.username or parts.password:
            raise ValueError("url must not hold a user name or password; the signature authenticates distro")
        return value

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        unknown = [event for event in value if event not in EVENTS]
        if unknown:
            raise ValueError(f"unknown event {', '.join(map(repr, unknown))}; known: {', '.join(EVENTS)}")
        return list(dict.fromkeys(value))

    @field_validator("secret_env")
    @classmethod
    def _variable_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(f"secret_env must name an environment variable, not {value!r}")
        return value

    @model_validator(mode="after")
    def _read_secret(self) -> WebhookSettings:
        raw = os.environ.get(self.secret_env, "")
        if not raw:
            raise ValueError(
                f"webhook {self.name!r}: environment variable {self.secret_env} is not set (its signing "
                f"secret, {SECRET_PREFIX}<base64>)"
            )
        self._secret = SecretStr(raw)
        if len(self.key()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"webhook {self.name!r}: {self.secret_env} must be {SECRET_PREFIX} followed by the base64 "
                f"of at least {MIN_SECRET_BYTES} random bytes"
            )
        return self

    def key(self) -> bytes:
        """The HMAC key: the secret's bytes after ``whsec_`` (b"" when it is not valid base64)."""
        raw = self._secret.get_secret_value().removeprefix(SECRET_PREFIX)
        try:
            return base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
        except (binascii.Error, ValueError):
            return b""


def _distinct(webhooks: list[WebhookSettings]) -> list[WebhookSettings]:
    names = [w.name for w in webhooks]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise ValueError(f"webhooks: the name {', '.join(doubled)} is used twice")
    return webhooks


Webhooks = Annotated[list[WebhookSettings], AfterValidator(_distinct)]
