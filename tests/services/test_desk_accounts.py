"""What the desk's accounts page says to do about each expiring token, at a pinned instant: nothing with
time left, "refresh due" within refresh_days, "token ended" past its end, a new authorisation before a
LinkedIn-style refresh token ends, "no token" before ``distro auth``; a refresh with nothing to check is
still recorded under the admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlmodel import col

from distro.accounts import account_for_channel, save_token
from distro.app import App, build_app
from distro.channels.tokens import AccountToken
from distro.db import upgrade
from distro.models import Activity
from distro.services.desk_accounts import account_views, refresh_accounts
from distro.settings import Settings

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
DAY = timedelta(days=1)


@pytest.fixture
def threads_app(settings: Settings, clock: time_machine.Traveller) -> App:
    settings.token_key = SecretStr(Fernet.generate_key().decode())
    settings.x.enabled = settings.facebook.enabled = False
    settings.threads.enabled, settings.threads.mode = True, "api"
    app = build_app(settings)
    upgrade(app.engine)
    return app


def advice_with(app: App, ends: timedelta | None, refresh_ends: timedelta | None = None) -> str:
    account = account_for_channel(app.settings, "threads")
    assert account is not None
    now = datetime.now(UTC)
    if ends is not None:
        token = AccountToken(
            "t" * 40, now + ends, refresh_expires_at=now + refresh_ends if refresh_ends else None
        )
        save_token(app.engine, app.settings, account, token)
    [view] = account_views(app)
    return view.advice


def test_the_advice_follows_the_tokens_ends(threads_app: App) -> None:
    assert advice_with(threads_app, None).startswith("no token: run `distro auth threads --account main`")
    assert advice_with(threads_app, 30 * DAY) == ""
    assert advice_with(threads_app, 7 * DAY) == "token ends in 7 days: refresh due (Refresh tokens now)"
    assert advice_with(threads_app, timedelta(hours=20)).startswith("token ends in 0 days: refresh due")
    assert advice_with(threads_app, -DAY) == "token ended: run `distro auth threads --account main`"
    said = advice_with(threads_app, 30 * DAY, refresh_ends=10 * DAY)
    assert said.startswith("authorisation ends ") and said.endswith("--account main` before then")
    assert advice_with(threads_app, 30 * DAY, refresh_ends=40 * DAY) == ""


def test_a_refresh_with_nothing_to_check_is_recorded(
    settings: Settings, clock: time_machine.Traveller
) -> None:
    app = build_app(settings)  # X and Facebook in file mode: no token ends
    upgrade(app.engine)
    assert refresh_accounts(app, actor="editor:a@example.org") == []
    with app.engine.connect() as connection:
        rows = connection.execute(
            sa.select(col(Activity.actor), col(Activity.action), col(Activity.detail))
        ).all()
    assert [tuple(r) for r in rows] == [
        ("editor:a@example.org", "account.refresh", "no expiring tokens to check")
    ]
    assert [v.state for v in account_views(app)] == ["ok", "ok"]
    app.engine.dispose()
