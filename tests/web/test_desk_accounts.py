"""/desk/accounts through the whole web app, on SQLite and PostgreSQL: the accounts as ``distro accounts
list`` reads them (a provider's pause with its reason, a refused token, an expiring token due for refresh),
never a token; "Refresh tokens now" runs ``distro accounts refresh`` against a wire-level fake Threads and
records each account's outcome under the admin; editors and viewers get 403 and nothing is refreshed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import col

from distro.accounts import account_for_channel, save_token, set_status
from distro.app import App, build_app, make_channel
from distro.channels.base import Channel
from distro.channels.tokens import AccountToken
from distro.db import upgrade
from distro.models import AccountStatus, Activity
from distro.settings import Settings
from distro.store import pauses
from distro.web.app import create_web_app
from tests.fakes import threads_api
from tests.fakes.threads_api import FakeThreads
from tests.web.desk import EDITOR, signed_in


@pytest.fixture
def fake() -> FakeThreads:
    return FakeThreads(age_days=57)  # the stored token ends in 3 days: within threads.refresh_days (7)


@pytest.fixture
def social_app(settings: Settings, clock: time_machine.Traveller, fake: FakeThreads) -> Iterator[App]:
    """X and Facebook in file mode; Threads in API mode, its token stored and ending in 3 days; X paused by
    its provider and Facebook's token refused."""
    settings.token_key = SecretStr(Fernet.generate_key().decode())
    settings.threads.enabled, settings.threads.mode = True, "api"
    app = build_app(settings)
    upgrade(app.engine)
    threads = account_for_channel(app.settings, "threads")
    facebook = account_for_channel(app.settings, "facebook")
    assert threads is not None and facebook is not None
    ends = datetime.now(UTC) + timedelta(days=3)
    save_token(
        app.engine, app.settings, threads, AccountToken(threads_api.TOKEN, ends, user_id=threads_api.USER_ID)
    )
    set_status(app.engine, facebook, AccountStatus.NEEDS_REAUTH, "Facebook refused the token (code 190)")
    pauses.pause(app.engine, "x", datetime.now(UTC) + timedelta(hours=2), "X said 429: rate limit")

    def wired(name: str) -> Channel[Any]:
        built = make_channel(app.settings, name, app.engine)
        inner: Any = built
        while hasattr(inner, "inner"):
            inner = inner.inner
        inner.session.mount("https://", fake)
        return built

    app.channel_factory = wired
    yield app
    app.engine.dispose()


@pytest.fixture
def client(social_app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(social_app)) as opened:
        yield opened


def row_of(html: str, channel: str) -> str:
    start = html.index(f'data-account="{channel}"')
    return html[start : html.index("</tr>", start)]


def refreshes(fake: FakeThreads) -> int:
    return len([s for s in fake.seen if "refresh_access_token" in s.url])


def test_an_admin_sees_each_account_and_refreshes_the_due_token(
    social_app: App, client: TestClient, fake: FakeThreads
) -> None:
    csrf = signed_in(social_app, client, "/desk/accounts")
    page = client.get("/desk/accounts").text
    assert "X said 429: rate limit" in row_of(page, "x") and "paused" in row_of(page, "x")
    facebook = row_of(page, "facebook")
    assert "needs re-authorisation" in facebook and "Facebook refused the token (code 190)" in facebook
    assert "distro auth facebook --account" in facebook
    threads = row_of(page, "threads")
    assert "token ends in 3 days: refresh due" in threads and "stored" in threads
    assert threads_api.TOKEN not in page

    done = client.post("/desk/accounts/refresh", data={"csrf_token": csrf})
    assert done.status_code == 200 and "Token refresh: threads: refreshed." in done.text
    assert refreshes(fake) == 1
    assert "refresh due" not in row_of(done.text, "threads")
    assert not any(token in done.text for token in [*fake.tokens, threads_api.TOKEN])
    with social_app.engine.connect() as connection:
        query = sa.select(
            col(Activity.actor), col(Activity.action), col(Activity.subject), col(Activity.detail)
        )
        rows = [tuple(r) for r in connection.execute(query.where(col(Activity.action) == "account.refresh"))]
    assert rows == [(f"editor:{EDITOR}", "account.refresh", "account threads", "refreshed")]

    client.post("/desk/accounts/refresh", data={"csrf_token": csrf})
    assert refreshes(fake) == 1  # fresh now: not refreshed twice


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_admins_reach_the_accounts_page(
    social_app: App, client: TestClient, fake: FakeThreads, role: str
) -> None:
    csrf = signed_in(social_app, client, "/desk/activity", role=role)
    page = client.get("/desk/accounts")
    assert page.status_code == 403 and "X said 429" not in page.text
    assert 'href="/desk/accounts"' not in client.get("/desk/activity").text
    assert client.post("/desk/accounts/refresh", data={"csrf_token": csrf}).status_code == 403
    assert refreshes(fake) == 0
    with social_app.engine.connect() as connection:
        recorded = sa.select(col(Activity.id)).where(col(Activity.action) == "account.refresh")
        assert connection.execute(recorded).all() == []
