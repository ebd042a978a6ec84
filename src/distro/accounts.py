"""Social accounts: which accounts each platform has, their stored tokens, and their health.

A platform's own settings section is its first account and keeps the bare platform name as its channel
("x", "facebook"), so rows queued before accounts existed are still claimed; each entry of
``<platform>.accounts`` is one more account with the channel ``"<platform>:<name>"``. The dispatcher
claims rows by channel, so a revoked token pauses exactly one account and its posts stay queued.

Tokens obtained by ``distro auth`` are stored Fernet-encrypted (:mod:`distro.crypto`); a stored token
overrides the environment's for that account. :class:`AccountGuard` wraps an account's channel and
records a :class:`~distro.errors.ChannelFailure` (X 401, Facebook 190) as ``needs_reauth`` so
``distro accounts list`` tells the editor, and clears it on the next successful post.

Threads and LinkedIn tokens expire (:data:`EXPIRING`): they come only from ``distro auth`` (stored with
their ends), and their channels are wrapped in :class:`~distro.channels.tokens.RefreshingChannel`, whose
refreshed token is stored here and whose failed refresh marks the account before the token ends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, SecretStr
from sqlalchemy.engine import Engine

from distro.channels.base import Channel, ImageFetcher, Receipt
from distro.channels.filesink import SocialFileSink
from distro.channels.tokens import AccountToken, RefreshingChannel
from distro.crypto import token_box
from distro.errors import ChannelFailure, ConfigError
from distro.models import AccountStatus, DeliveryStatus, utcnow
from distro.settings import Settings
from distro.store import deliveries, pauses, social_accounts

log = logging.getLogger(__name__)
PLATFORMS = ("x", "facebook", "mastodon", "bluesky", "threads", "linkedin")
# The token fields each platform's settings take from a stored token (the app's own keys stay in env).
TOKEN_FIELDS: dict[str, tuple[str, ...]] = {
    "x": ("access_token", "access_token_secret"),
    "facebook": ("page_access_token",),
    "mastodon": ("access_token",),
    "bluesky": ("app_password",),
}
EXPIRING = ("threads", "linkedin")  # tokens that end: from `distro auth` only, refreshed before they do


@dataclass(frozen=True, slots=True)
class Account:
    """One configured account: where its posts go (channel) and which articles it posts."""

    platform: str
    name: str
    channel: str
    mode: str
    sections: tuple[str, ...] | None
    page_id: str | None = None  # Facebook only
    organization_id: str | None = None  # LinkedIn only: the organisation page it posts as

    def wants(self, section: str | None) -> bool:
        return self.sections is None or (section or "") in self.sections


def configured_accounts(settings: Settings) -> list[Account]:
    """Every account of every enabled platform, first accounts first; ConfigError on a repeated name."""
    accounts: list[Account] = []
    for platform in PLATFORMS:
        section: Any = getattr(settings, platform)
        if not section.enabled:
            continue
        first_page = section.page_id if platform == "facebook" else None
        first_org = section.organization_id if platform == "linkedin" else None
        first_sections = tuple(section.sections) if section.sections is not None else None
        found = [
            Account(platform, section.account, platform, section.mode, first_sections, first_page, first_org)
        ]
        for extra in section.accounts:
            if extra.name in {a.name for a in found}:
                raise ConfigError(f"{platform}.accounts: the account name {extra.name!r} is used twice")
            if platform == "facebook" and not extra.page_id:
                raise ConfigError(f"facebook.accounts: account {extra.name!r} needs a page_id")
            if platform == "linkedin" and not extra.organization_id:
                raise ConfigError(f"linkedin.accounts: account {extra.name!r} needs an organization_id")
            sections = tuple(extra.sections) if extra.sections is not None else None
            mode = extra.mode or section.mode
            found.append(
                Account(
                    platform,
                    extra.name,
                    f"{platform}:{extra.name}",
                    mode,
                    sections,
                    extra.page_id,
                    extra.organization_id,
                )
            )
        accounts += found
    return accounts


def account_for_channel(settings: Settings, channel: str) -> Account | None:
    return next((a for a in configured_accounts(settings) if a.channel == channel), None)


def store_token(
    engine: Engine,
    settings: Settings,
    *,
    platform: str,
    name: str,
    token: dict[str, Any],
    user_id: str | None = None,
    expires_at: datetime | None = None,
    refresh_expires_at: datetime | None = None,
) -> None:
    """Encrypt and store ``token`` for the account, marking it healthy; refuses without DISTRO_TOKEN_KEY."""
    sealed = token_box(settings.token_key).seal(token)
    values = {
        "token": sealed,
        "user_id": user_id,
        "expires_at": expires_at,
        "refresh_expires_at": refresh_expires_at,
        "status": AccountStatus.OK,
        "last_error": None,
        "updated_at": utcnow(),
    }
    social_accounts.save(engine, platform, name, values)


def stored_token(engine: Engine, settings: Settings, account: Account) -> dict[str, Any] | None:
    sealed = social_accounts.sealed_token(engine, account.platform, account.name)
    return token_box(settings.token_key).open(sealed) if sealed else None


def set_status(engine: Engine, account: Account, status: AccountStatus, error: str | None) -> None:
    """Record the account's health (the error text comes from channels, which never include secrets)."""
    values = {"status": status, "last_error": error, "updated_at": utcnow()}
    social_accounts.save(engine, account.platform, account.name, values)


def social_channel(
    settings: Settings,
    account: Account,
    engine: Engine | None,
    *,
    fetch_image: ImageFetcher | None = None,
) -> Channel[Any]:
    """The account's channel: a file sink in ``var/outbox/social/<platform>/``, or its API client.

    ``fetch_image`` gets a post's image for the channels that upload one (X); without it they post
    without images.
    """
    if account.mode == "file":
        sink = SocialFileSink(settings.social_dir, account.platform)
        sink.name = account.channel
        return sink
    config = platform_settings(engine, settings, account)
    channel: Any
    if account.platform in EXPIRING:
        channel = _expiring_channel(engine, settings, account, config)
    elif account.platform == "x":
        from distro.channels.x import XChannel

        channel = XChannel(config, fetch_image=fetch_image)
    elif account.platform == "facebook":
        from distro.channels.facebook import FacebookChannel

        channel = FacebookChannel(config)
    elif account.platform == "mastodon":
        from distro.channels.mastodon import MastodonChannel

        channel = MastodonChannel(config)
    else:
        from distro.channels.bluesky import BlueskyChannel

        channel = BlueskyChannel(config)
    channel.name = account.channel
    return AccountGuard(channel, engine, account) if engine is not None else channel


def _expiring_channel(
    engine: Engine | None, settings: Settings, account: Account, config: Any
) -> RefreshingChannel:
    """The Threads or LinkedIn channel with its stored token, refreshed before it ends (stored again)."""
    data = stored_token(engine, settings, account) if engine is not None and settings.token_key else None
    if engine is None or not data:
        raise ConfigError(
            f"account {account.channel} has no stored token; run `distro auth {account.platform} "
            f"--account {account.name}` (with DISTRO_TOKEN_KEY set)"
        )
    token = AccountToken.from_stored(data)
    inner: Any
    if account.platform == "threads":
        from distro.channels.threads import ThreadsChannel

        inner = ThreadsChannel(config, token)
    else:
        from distro.channels.linkedin import LinkedInChannel

        inner = LinkedInChannel(config, token)
    inner.name = account.channel
    return RefreshingChannel(
        inner,
        refresh_before=timedelta(days=config.refresh_days),
        save=lambda fresh: save_token(engine, settings, account, fresh),
        refused=lambda message: set_status(engine, account, AccountStatus.NEEDS_REAUTH, message),
        reauth=f"distro auth {account.platform} --account {account.name}",
    )


def save_token(engine: Engine, settings: Settings, account: Account, token: AccountToken) -> None:
    """Store an expiring token (sealed) with its ends, the account healthy again."""
    store_token(
        engine,
        settings,
        platform=account.platform,
        name=account.name,
        token=token.stored(),
        user_id=token.user_id,
        expires_at=token.expires_at,
        refresh_expires_at=token.refresh_expires_at,
    )


def platform_settings(engine: Engine | None, settings: Settings, account: Account) -> Any:
    """The platform settings for ``account``: its page, and its stored token in place of the env's."""
    section: BaseModel = getattr(settings, account.platform)
    update: dict[str, Any] = {"account": account.name}
    if account.page_id:
        update["page_id"] = account.page_id
    if account.organization_id:
        update["organization_id"] = account.organization_id
    if account.platform in EXPIRING:  # the token is not a setting: see _expiring_channel
        return section.model_copy(update=update)
    has_key = settings.token_key is not None and engine is not None
    token = stored_token(engine, settings, account) if has_key and engine is not None else None
    if token:
        update |= {f: SecretStr(str(token[f])) for f in TOKEN_FIELDS[account.platform] if token.get(f)}
        if account.platform == "facebook" and token.get("page_id"):
            update["page_id"] = str(token["page_id"])
    elif account.channel != account.platform and account.mode == "api":
        raise ConfigError(
            f"account {account.channel} has no stored token; run `distro auth {account.platform} "
            f"--account {account.name}` (with DISTRO_TOKEN_KEY set)"
        )
    return section.model_copy(update=update)


class AccountGuard:
    """Wraps an account's channel: a refused token marks the account ``needs_reauth``; success clears it."""

    def __init__(self, inner: Channel[Any], engine: Engine, account: Account) -> None:
        self.inner = inner
        self.engine = engine
        self.account = account
        self.name = account.channel
        self._healthy: bool | None = None

    def send(self, message: Any) -> Receipt:
        try:
            receipt = self.inner.send(message)
        except ChannelFailure as exc:
            log.warning("account %s needs re-authorisation: %s", self.account.channel, exc)
            set_status(self.engine, self.account, AccountStatus.NEEDS_REAUTH, str(exc))
            self._healthy = False
            raise
        if self._healthy is not True:
            self._healthy = True
            status = social_accounts.status_of(self.engine, self.account.platform, self.account.name)
            if status == AccountStatus.NEEDS_REAUTH:
                set_status(self.engine, self.account, AccountStatus.OK, None)
        return receipt

    def ensure_fresh(self, now: datetime | None = None) -> bool:
        """Refresh the account's expiring token when due (True if it was); False for tokens that never end.

        Raises as a send would: RateLimited(pause_account) when the refresh failed, ChannelFailure (and the
        account marked ``needs_reauth``) when the token already ended.
        """
        refresh = getattr(self.inner, "ensure_fresh", None)
        if refresh is None:
            return False
        try:
            return bool(refresh(now))
        except ChannelFailure as exc:
            set_status(self.engine, self.account, AccountStatus.NEEDS_REAUTH, str(exc))
            raise

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True, slots=True)
class AccountRow:
    """What ``distro accounts list`` shows; never the token itself."""

    channel: str
    platform: str
    name: str
    mode: str
    sections: str
    status: str
    token: str  # "stored", "environment" or "missing"
    expires_at: datetime | None
    pending: int
    last_error: str | None
    refresh_expires_at: datetime | None = None  # when the account must be authorised again (LinkedIn)
    paused: str | None = None  # "until <UTC time>: <the provider's or distro's reason>"
    paused_until: datetime | None = None  # the same pause, for the desk to write in its own timezone
    pause_reason: str = ""


def list_accounts(engine: Engine, settings: Settings) -> list[AccountRow]:
    stored = social_accounts.every(engine)
    paused = pauses.running(engine)
    pending = {
        channel: by.get(DeliveryStatus.PENDING, 0) for channel, by in deliveries.counts(engine).items()
    }
    rows: list[AccountRow] = []
    for account in configured_accounts(settings):
        row = stored.get((account.platform, account.name))
        expires = row.expires_at if row is not None else None
        refresh_ends = row.refresh_expires_at if row is not None else None
        pause = paused.get(account.channel)
        rows.append(
            AccountRow(
                channel=account.channel,
                platform=account.platform,
                name=account.name,
                mode=account.mode,
                sections=", ".join(account.sections) if account.sections is not None else "all",
                status=row.status if row is not None else AccountStatus.OK,
                token=_token_source(settings, account, row),
                expires_at=_utc(expires),
                pending=int(pending.get(account.channel, 0)),
                last_error=row.last_error if row is not None else None,
                refresh_expires_at=_utc(refresh_ends),
                paused=f"until {pause.until:%Y-%m-%d %H:%M} UTC: {pause.reason}" if pause else None,
                paused_until=pause.until if pause else None,
                pause_reason=pause.reason if pause else "",
            )
        )
    return rows


def _utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=utcnow().tzinfo) if moment is not None else None


def _token_source(settings: Settings, account: Account, row: Any) -> str:
    if account.mode == "file":
        return "not needed"
    if row is not None and row.token:
        return "stored"
    section = getattr(settings, account.platform)
    fields = TOKEN_FIELDS.get(account.platform, ())
    if (
        fields
        and account.channel == account.platform
        and all(getattr(section, f) is not None for f in fields)
    ):
        return "environment"
    return "missing"
