"""The desk's social accounts page: ``distro accounts list`` with a word on each token's health, and
``distro accounts refresh`` recorded in the activity log under the admin who asked.

No new way of authorising an account lives here: a token that ended still needs ``distro auth`` on the
command line, and the page says so. What the desk adds is the reading: an expiring token (Threads,
LinkedIn) within its platform's ``refresh_days`` is "refresh due", one past its end "ended", and a
LinkedIn refresh token close to its own end asks for a new authorisation before posts start to fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from distro.accounts import EXPIRING, AccountRow, list_accounts
from distro.app import App
from distro.models import AccountStatus, utcnow
from distro.services.activity import record
from distro.services.desk_clock import local_time
from distro.services.social_tokens import TokenCheck, refresh_tokens

REAUTH_WARNING = timedelta(days=14)  # a LinkedIn refresh token this close to its end: authorise again


@dataclass(frozen=True, slots=True)
class AccountView:
    """One account as the desk shows it: the CLI's row, its state in a word, and what to do (if anything)."""

    row: AccountRow
    state: str  # "ok", "paused", "needs re-authorisation"
    advice: str  # "" when nothing needs doing

    @property
    def ok(self) -> bool:
        return self.state == "ok" and not self.advice


def _advice(app: App, row: AccountRow, now: datetime) -> str:
    reauth = f"run `distro auth {row.platform} --account {row.name}`"
    if row.status == AccountStatus.NEEDS_REAUTH:
        return f"the platform refused the token: {reauth}"
    if row.mode == "api" and row.token == "missing":
        return f"no token: {reauth} (with DISTRO_TOKEN_KEY set)"
    if row.platform not in EXPIRING or row.mode != "api":
        return ""
    if row.refresh_expires_at is not None and row.refresh_expires_at - now <= REAUTH_WARNING:
        return f"authorisation ends {local_time(app.settings, row.refresh_expires_at)}: {reauth} before then"
    if row.expires_at is None:
        return ""
    if row.expires_at <= now:
        return f"token ended: {reauth}"
    refresh_days = getattr(app.settings, row.platform).refresh_days
    if row.expires_at - now <= timedelta(days=refresh_days):
        days = (row.expires_at - now).days
        return f"token ends in {days} day{'s' if days != 1 else ''}: refresh due (Refresh tokens now)"
    return ""


def account_views(app: App, now: datetime | None = None) -> list[AccountView]:
    """Every configured account, in settings order, as ``distro accounts list`` reads them."""
    now = now or utcnow()
    views = []
    for row in list_accounts(app.engine, app.settings):
        if row.status == AccountStatus.NEEDS_REAUTH:
            state = "needs re-authorisation"
        elif row.paused:
            state = "paused"
        else:
            state = "ok"
        views.append(AccountView(row, state, _advice(app, row, now)))
    return views


def refresh_accounts(app: App, *, actor: str, now: datetime | None = None) -> list[TokenCheck]:
    """:func:`~distro.services.social_tokens.refresh_tokens` (what ``distro accounts refresh`` runs), one
    ``account.refresh`` activity row per account checked (its outcome; the token never)."""
    checks = refresh_tokens(app, now)
    for check in checks:
        subject = f"account {check.channel}"
        record(app, actor=actor, action="account.refresh", subject=subject, detail=check.outcome)
    if not checks:
        record(app, actor=actor, action="account.refresh", detail="no expiring tokens to check")
    return checks
