"""The composition root: settings in, a wired :class:`App` out. Nothing else builds engines or channels.

Tests and embedders pass ``channels`` to swap a channel for one pointed at a local fake; everything else
(database, templates, signing key) comes from the settings. Templates are the packaged ones, overridden
file by file by the site's ``templates_dir`` when it has that file (the folder need not exist).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jinja2
from sqlalchemy.engine import Engine

from distro.channels.base import Channel, Image, ImageFetcher
from distro.channels.filesink import EmailFileSink
from distro.compose.templating import make_environment
from distro.db import make_engine
from distro.errors import ConfigError, PermanentFailure, SourceError, TemporaryFailure
from distro.platforms import x
from distro.settings import Settings
from distro.sources.fetch import (
    DEFAULT_USER_AGENT,
    SourceUnavailable,
    check_public_address,
    fetch_url,
)
from distro.store import webhook_events
from distro.tokens import SigningKey, load_or_create_key

ChannelFactory = Callable[[str], Channel[Any]]
HttpGet = Callable[[str], bytes]  # a URL distro was told to fetch (SNS certificates and confirmations)
CHANNELS = (
    "email",
    "x",
    "facebook",
    "mastodon",
    "bluesky",
    "threads",
    "linkedin",
    "<platform>:<account>",
    "webhook",
)


@dataclass
class App:
    settings: Settings
    engine: Engine
    templates: jinja2.Environment
    signing_key: bytes  # a SigningKey from build_app: signs with the current key, also reads previous ones
    channel_factory: ChannelFactory
    # How a URL a webhook named is fetched: an SNS signing certificate, a subscription confirmation
    # (already checked to be on an SNS host); tests point it at what they serve.
    http_get: HttpGet = field(default_factory=lambda: webhook_fetcher())
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    )

    def enabled_channels(self) -> list[str]:
        from distro.accounts import configured_accounts

        webhooks = ["webhook"] if self.settings.webhooks else []
        return ["email"] + [account.channel for account in configured_accounts(self.settings)] + webhooks


def make_channel(settings: Settings, name: str, engine: Engine | None = None) -> Channel[Any]:
    """The channel the settings ask for: a file sink by default, the real service in ``api``/``smtp`` mode.

    Social channels are per account (``x``, ``x:security``, ...; see :mod:`distro.accounts`).
    """
    if name == "email":
        if settings.email.mode == "smtp":
            from distro.channels.smtp import SmtpChannel

            return SmtpChannel(settings.smtp)
        return EmailFileSink(settings.email_dir)
    if name == "webhook":
        from distro.channels.webhook import WebhookChannel

        return WebhookChannel(settings.webhooks, user_agent=settings.user_agent, check_address=public_only)
    from distro.accounts import account_for_channel, social_channel

    account = account_for_channel(settings, name)
    if account is not None:
        fetch_image = image_fetcher(timeout=settings.x.timeout, max_bytes=x.MAX_IMAGE_BYTES)
        return social_channel(settings, account, engine, fetch_image=fetch_image)
    raise ConfigError(f"unknown channel {name!r}; known: {', '.join(CHANNELS)}")


def image_fetcher(*, timeout: float, max_bytes: int, allow_private_addresses: bool = False) -> ImageFetcher:
    """How a channel gets a post's image: the source fetcher's User-Agent, limits and SSRF refusal."""

    def fetch(url: str) -> Image:
        image = fetch_url(
            url,
            user_agent=DEFAULT_USER_AGENT,
            timeout=timeout,
            max_bytes=max_bytes,
            allow_private_addresses=allow_private_addresses,
        )
        return Image(image.body, image.content_type)

    return fetch


def public_only(url: str, setting: str) -> None:
    """The source fetcher's SSRF refusal, as an outgoing webhook's delivery error."""
    try:
        check_public_address(url, setting)
    except SourceUnavailable as exc:
        raise TemporaryFailure(str(exc)) from None
    except SourceError as exc:
        raise PermanentFailure(str(exc)) from None


def webhook_fetcher(*, timeout: float = 10.0, max_bytes: int = 256 * 1024) -> HttpGet:
    """GET with the source fetcher's limits and refusal of private addresses, returning the body."""

    def get(url: str) -> bytes:
        return fetch_url(url, user_agent=DEFAULT_USER_AGENT, timeout=timeout, max_bytes=max_bytes).body

    return get


def build_app(
    settings: Settings, *, channels: ChannelFactory | None = None, engine: Engine | None = None
) -> App:
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    engine = engine or make_engine(settings.database_url)
    webhook_events.configure(engine, settings.webhooks)  # which [[webhooks]] want which event
    return App(
        settings=settings,
        engine=engine,
        templates=make_environment(settings.templates_dir),
        signing_key=SigningKey(
            load_or_create_key(secret, settings.var_dir / "secret.key"),
            [k.get_secret_value().encode() for k in settings.secret_key_previous],
        ),
        channel_factory=channels or (lambda name: make_channel(settings, name, engine)),
    )
