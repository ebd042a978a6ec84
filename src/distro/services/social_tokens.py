"""Expiring tokens (Threads, LinkedIn) kept fresh even for accounts that have nothing to post.

A send refreshes its account's token when it is due (:class:`~distro.channels.tokens.RefreshingChannel`),
but an account may post nothing for weeks while its 60 days run out. :func:`refresh_tokens` does the same
check for every such account in API mode; the scheduler's poll runs it, and ``distro accounts refresh``.
A refresh that fails pauses the account exactly as a send would (the pause's reason on the desk and in
``distro accounts list``), so the editor hears of it before the token ends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from distro.accounts import EXPIRING, configured_accounts
from distro.app import App
from distro.channels.tokens import REFUSED_RETRY_SECONDS
from distro.errors import ChannelFailure, DistroError, RateLimited
from distro.models import utcnow
from distro.store import pauses

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """One account's check: ``refreshed``, ``fresh`` (not due), ``paused``, ``expired`` or ``not checked``."""

    channel: str
    outcome: str
    detail: str = ""


def refresh_tokens(app: App, now: datetime | None = None) -> list[TokenCheck]:
    """Refresh every due Threads and LinkedIn token; a failure pauses (or marks) only its account."""
    now = now or utcnow()
    checks: list[TokenCheck] = []
    for account in configured_accounts(app.settings):
        if account.platform not in EXPIRING or account.mode != "api":
            continue
        try:
            channel = app.channel_factory(account.channel)  # the same wiring as a send's
        except DistroError as exc:  # no stored token yet, no key: said, not fatal for the others
            checks.append(TokenCheck(account.channel, "not checked", str(exc)))
            continue
        refresh = getattr(channel, "ensure_fresh", None)
        try:
            refreshed = bool(refresh(now)) if refresh is not None else False
        except RateLimited as exc:  # the refresh failed: the account waits, as after a send
            until = now + timedelta(seconds=exc.retry_after or REFUSED_RETRY_SECONDS)
            pauses.pause(app.engine, account.channel, until, str(exc), now=now)
            log.warning("%s", exc)
            checks.append(TokenCheck(account.channel, "paused", str(exc)))
        except ChannelFailure as exc:  # already ended (the account is marked): only `distro auth` helps
            log.warning("%s", exc)
            checks.append(TokenCheck(account.channel, "expired", str(exc)))
        except DistroError as exc:
            checks.append(TokenCheck(account.channel, "not checked", str(exc)))
        else:
            checks.append(TokenCheck(account.channel, "refreshed" if refreshed else "fresh"))
        finally:
            channel.close()
    return checks
