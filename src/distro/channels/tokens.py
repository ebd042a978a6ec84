"""Tokens that expire (Threads, LinkedIn): what such a channel holds, and refreshing it before it ends.

Threads' long-lived tokens and LinkedIn's access tokens last 60 days. :class:`RefreshingChannel` wraps
the account's channel and refreshes the token once it expires within ``refresh_before``: before a send,
and whenever the scheduler asks (:meth:`~RefreshingChannel.ensure_fresh`). The channel does the HTTP
(:meth:`ExpiringChannel.refresh`); saving the new token (encrypted) and marking the account belong to the
composition root and are injected as callables, so this module knows no database.

A refresh that fails stops the account *before* its token ends, never silently: the send raises
:class:`~distro.errors.RateLimited` with ``pause_account`` (every worker waits; the reason is the pause's,
shown on the desk and in ``distro accounts list``), and when the platform refused the refresh (a revoked
token, no refresh token, a refresh token that ends too) the account is also marked ``needs_reauth`` with
the same message. A token already expired is a :class:`~distro.errors.ChannelFailure`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from distro.channels.base import Receipt, SocialOut
from distro.errors import ChannelFailure, DeliveryError, PermanentFailure, RateLimited

REFUSED_RETRY_SECONDS = 3600.0  # the platform refused: an operator must act; look again in an hour
FAILED_RETRY_SECONDS = 900.0  # no answer (timeout, 5xx): try the refresh again in a quarter of an hour


@dataclass(frozen=True, slots=True)
class AccountToken:
    """An account's credentials as stored (sealed) by ``distro auth``; the secrets never show in a repr."""

    access_token: str = field(repr=False)
    expires_at: datetime | None = None  # None: does not expire (or unknown)
    refresh_token: str | None = field(default=None, repr=False)
    refresh_expires_at: datetime | None = None
    user_id: str | None = None  # the platform's id of the account (Threads user id)

    def stored(self) -> dict[str, Any]:
        """The dictionary to seal: times as ISO strings."""
        data = asdict(self)
        return {
            k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items() if v is not None
        }

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> AccountToken:
        """The token :meth:`stored` made; ValueError when it has no access token."""
        if not isinstance(data.get("access_token"), str) or not data["access_token"]:
            raise ValueError("the stored token has no access token")

        def when(key: str) -> datetime | None:
            return datetime.fromisoformat(str(data[key])) if data.get(key) else None

        def text(key: str) -> str | None:
            return str(data[key]) if data.get(key) is not None else None

        return cls(
            data["access_token"],
            when("expires_at"),
            text("refresh_token"),
            when("refresh_expires_at"),
            text("user_id"),
        )

    def with_user(self, user_id: str | None) -> AccountToken:
        return replace(self, user_id=user_id or self.user_id)


class ExpiringChannel(Protocol):
    """A channel whose token expires: it holds the token and can trade it for a fresh one."""

    name: str
    token: AccountToken

    def refresh(self) -> AccountToken:
        """A fresh token from the platform, now the channel's own; DeliveryError when it cannot be had."""
        ...

    def send(self, message: SocialOut) -> Receipt: ...

    def close(self) -> None: ...


SaveToken = Callable[[AccountToken], None]  # store the refreshed token (encrypted), the account healthy
MarkRefused = Callable[[str], None]  # mark the account needs_reauth with this message


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


class RefreshingChannel:
    """``inner`` with its token refreshed when it expires within ``refresh_before``; see the module."""

    def __init__(
        self,
        inner: ExpiringChannel,
        *,
        refresh_before: timedelta,
        save: SaveToken,
        refused: MarkRefused,
        reauth: str,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.refresh_before = refresh_before
        self._save, self._refused = save, refused
        self.reauth = reauth  # the command that gives the account a new token, for messages

    def send(self, message: SocialOut) -> Receipt:
        self.ensure_fresh()
        return self.inner.send(message)

    def close(self) -> None:
        self.inner.close()

    def ensure_fresh(self, now: datetime | None = None) -> bool:
        """Refresh the token when it is due; True when it was refreshed. Raises as the module says."""
        now = now or datetime.now(UTC)
        ends = self.inner.token.expires_at
        if ends is None or ends - now > self.refresh_before:
            return False
        if ends <= now:
            raise ChannelFailure(
                f"{self.name}: the token expired at {_when(ends)} and can no longer be refreshed; "
                f"run `{self.reauth}` (posts wait)",
                retry_after=REFUSED_RETRY_SECONDS,
            )
        try:
            fresh = self.inner.refresh()
        except DeliveryError as exc:
            refused = isinstance(exc, PermanentFailure | ChannelFailure)
            reason = f"refreshing it was refused ({exc})" if refused else f"refreshing it failed ({exc})"
            raise self._stop(ends, reason, refused=refused) from exc
        self._save(fresh)
        if fresh.expires_at is not None and fresh.expires_at - now <= self.refresh_before:
            ending = fresh.refresh_expires_at or fresh.expires_at
            raise self._stop(
                fresh.expires_at,
                f"its refresh token ends {_when(ending)}, so it cannot be extended",
                refused=True,
            )
        return True

    def _stop(self, ends: datetime, reason: str, *, refused: bool) -> RateLimited:
        """Pause the account (and on a refusal mark it) with a message that says what to do."""
        then = "run `" + self.reauth + "` before then" if refused else "distro tries again shortly"
        message = f"{self.name}: the token ends {_when(ends)} and {reason}; posts wait; {then}"
        if refused:
            self._refused(message)
        wait = REFUSED_RETRY_SECONDS if refused else FAILED_RETRY_SECONDS
        return RateLimited(message, retry_after=wait, pause_account=True)
