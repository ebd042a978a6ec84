"""Expiring tokens (Threads, LinkedIn) through the real composition: the token stored encrypted by
``distro auth``, refreshed before it ends and stored again, and a failed refresh pausing the account with a
message on the desk and in ``distro accounts list`` before the token ends.

Channels are built by the app (``make_channel``) with their sessions ending in the wire-level fakes; the
clock is pinned (the ``clock`` fixture), so every end and pause below is a fixed instant.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from distro.accounts import account_for_channel, list_accounts, save_token
from distro.app import App, build_app, make_channel
from distro.channels.base import Channel, SocialOut
from distro.channels.tokens import AccountToken
from distro.cli import cli
from distro.db import upgrade
from distro.errors import ChannelFailure, RateLimited
from distro.models import ChannelPause, Delivery, DeliveryStatus, SocialAccount
from distro.platforms import linkedin as linkedin_rules
from distro.platforms import threads as threads_rules
from distro.services.delivery import dispatch
from distro.services.ingest import ingest
from distro.services.social import plan_social
from distro.services.social_tokens import refresh_tokens
from distro.settings import LinkedInSettings, Settings
from distro.web.app import create_web_app
from tests.fakes import linkedin_api, threads_api
from tests.fakes.linkedin_api import FakeLinkedIn
from tests.fakes.threads_api import FakeThreads
from tests.web.desk import signed_in

LINK = "https://meridian-review.example/2026/11/sanctions/?utm_source=social"


def post() -> SocialOut:
    return SocialOut(
        "social:1:threads:main", "threads", "main", threads_rules.build_body(f"Sanctions {LINK}", LINK)
    )


def linkedin_post() -> SocialOut:
    body = linkedin_rules.build_body(
        "Sanctions", organization_id=linkedin_api.ORGANIZATION_ID, link=LINK, title="Sanctions"
    )
    return SocialOut("social:1:linkedin:page", "linkedin", "page", body)


# --- Threads ---------------------------------------------------------------------------------------------


@pytest.fixture
def threads_app(settings: Settings, clock: time_machine.Traveller) -> App:
    settings.token_key = SecretStr(Fernet.generate_key().decode())
    settings.x.enabled = settings.facebook.enabled = False
    settings.threads.enabled, settings.threads.mode = True, "api"
    app = build_app(settings)
    upgrade(app.engine)
    return app


def store(app: App, token: str, ends: datetime) -> None:
    account = account_for_channel(app.settings, "threads")
    assert account is not None
    save_token(app.engine, app.settings, account, AccountToken(token, ends, user_id=threads_api.USER_ID))


def wired(app: App, fake: FakeThreads) -> Channel[Any]:
    """The account's channel as the app builds it, its HTTP session ending in ``fake``."""
    built = make_channel(app.settings, "threads", app.engine)
    inner: Any = built
    while hasattr(inner, "inner"):
        inner = inner.inner
    inner.session.mount("https://", fake)
    return built


def test_a_token_close_to_its_end_is_refreshed_before_the_send_and_stored_encrypted(
    threads_app: App, clock: time_machine.Traveller
) -> None:
    fake = FakeThreads(age_days=57)  # ends in 3 days: within threads.refresh_days (7)
    store(threads_app, threads_api.TOKEN, datetime.now(UTC) + timedelta(days=3))
    wired(threads_app, fake).send(post())
    assert threads_api.TOKEN not in fake.tokens and len(fake.posts) == 1  # the new token posted
    with threads_app.engine.connect() as c:
        row = c.execute(sa.select(SocialAccount)).one()
    assert row.expires_at == datetime.now(UTC) + timedelta(days=60)
    assert row.status == "ok" and row.token and next(iter(fake.tokens)) not in row.token  # sealed
    refreshes = [s for s in fake.seen if "refresh_access_token" in s.url]
    assert len(refreshes) == 1 and "grant_type=th_refresh_token" in refreshes[0].url


def test_a_token_with_time_left_is_not_refreshed(threads_app: App) -> None:
    fake = FakeThreads(age_days=10)
    store(threads_app, threads_api.TOKEN, datetime.now(UTC) + timedelta(days=50))
    wired(threads_app, fake).send(post())
    assert not [s for s in fake.seen if "refresh_access_token" in s.url]


def test_the_scheduler_check_refreshes_an_idle_accounts_token(threads_app: App) -> None:
    fake = FakeThreads(age_days=55)
    store(threads_app, threads_api.TOKEN, datetime.now(UTC) + timedelta(days=5))
    threads_app.channel_factory = lambda name: wired(threads_app, fake)
    checks = refresh_tokens(threads_app)
    assert [(c.channel, c.outcome) for c in checks] == [("threads", "refreshed")]
    assert threads_api.TOKEN not in fake.tokens and fake.posts == []
    assert [(c.channel, c.outcome) for c in refresh_tokens(threads_app)] == [("threads", "fresh")]


def test_a_refused_refresh_pauses_the_account_with_a_message_before_the_token_ends(
    threads_app: App, settings: Settings, clock: time_machine.Traveller
) -> None:
    ends = datetime.now(UTC) + timedelta(days=3)
    store(threads_app, "a-token-threads-forgot", ends)  # the fake does not know it: refresh refused
    fake = FakeThreads()
    threads_app.channel_factory = lambda name: wired(threads_app, fake)
    ingest(threads_app, backfill=2)
    assert plan_social(threads_app) == 2
    reports = dispatch(threads_app, ["threads"])
    assert reports["threads"].sent == 0 and fake.posts == []
    with threads_app.engine.connect() as c:
        statuses = set(c.execute(sa.select(Delivery.status)).scalars())  # type: ignore[call-overload]
        pause = c.execute(sa.select(ChannelPause)).one()
    assert statuses == {DeliveryStatus.PENDING}  # the posts wait, no attempt burnt
    assert pause.channel == "threads" and "refreshing it was refused" in pause.reason
    row = {r.channel: r for r in list_accounts(threads_app.engine, threads_app.settings)}["threads"]
    assert row.status == "needs_reauth" and "2026-11-30" in (row.last_error or "")
    assert "distro auth threads --account main" in (row.last_error or "")
    assert row.paused and row.paused.startswith("until 2026-11-27")
    assert "a-token-threads-forgot" not in json.dumps([row.last_error, row.paused])
    listed = distro_accounts_list(settings)
    assert listed["status"] == "needs_reauth" and "refreshing it was refused" in listed["last_error"]
    assert listed["paused"] and "a-token-threads-forgot" not in json.dumps(listed)
    html = desk_social_page(threads_app)
    assert "Threads · main" in html and "This account cannot post: threads: the token ends 2026-11-30" in html
    assert "Paused until 2026-11-27 13:00 GMT" in html and "a-token-threads-forgot" not in html


def distro(settings: Settings, *args: str) -> Any:
    """``distro <args> --format json`` through the real command, on this test's database (in this
    process, so the pinned clock holds)."""
    config = settings.var_dir.parent / "threads.toml"
    config.write_text(
        '[threads]\nenabled = true\nmode = "api"\n[x]\nenabled = false\n[facebook]\nenabled = false\n'
    )
    env = {
        "DISTRO_DATABASE_URL": settings.database_url,
        "DISTRO_CONFIG": str(config),
        "DISTRO_TEMPLATES_DIR": str(settings.templates_dir),
        "DISTRO_VAR_DIR": str(settings.var_dir),
        "DISTRO_TOKEN_KEY": settings.token_key.get_secret_value() if settings.token_key else "",
    }
    result = CliRunner().invoke(cli, [*args, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def distro_accounts_list(settings: Settings) -> dict[str, Any]:
    return next(r for r in distro(settings, "accounts", "list") if r["channel"] == "threads")


def test_distro_accounts_refresh_checks_every_expiring_account(threads_app: App, settings: Settings) -> None:
    store(threads_app, threads_api.TOKEN, datetime.now(UTC) + timedelta(days=50))  # not due: no call
    assert distro(settings, "accounts", "refresh") == [
        {"channel": "threads", "outcome": "fresh", "detail": ""}
    ]


def desk_social_page(app: App) -> str:
    with TestClient(create_web_app(app)) as client:
        signed_in(app, client, "/desk/social")
        return unescape(client.get("/desk/social").text)


def test_an_expired_token_needs_a_new_authorisation(threads_app: App, clock: time_machine.Traveller) -> None:
    store(threads_app, threads_api.TOKEN, datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(ChannelFailure, match="expired at 2026-11-27"):
        wired(threads_app, FakeThreads()).send(post())
    row = {r.channel: r for r in list_accounts(threads_app.engine, threads_app.settings)}["threads"]
    assert row.status == "needs_reauth" and "distro auth threads" in (row.last_error or "")


def test_api_mode_without_a_stored_token_names_the_command(threads_app: App) -> None:
    with pytest.raises(Exception, match="distro auth threads --account main"):
        make_channel(threads_app.settings, "threads", threads_app.engine)
    row = {r.channel: r for r in list_accounts(threads_app.engine, threads_app.settings)}["threads"]
    assert row.token == "missing"


# --- LinkedIn --------------------------------------------------------------------------------------------


@pytest.fixture
def linkedin_app(settings: Settings, clock: time_machine.Traveller) -> App:
    settings.token_key = SecretStr(Fernet.generate_key().decode())
    settings.x.enabled = settings.facebook.enabled = False
    settings.linkedin = LinkedInSettings(
        enabled=True,
        mode="api",
        organization_id=linkedin_api.ORGANIZATION_ID,
        client_id=linkedin_api.CLIENT_ID,
        client_secret=SecretStr(linkedin_api.CLIENT_SECRET),
    )
    app = build_app(settings)
    upgrade(app.engine)
    return app


def store_linkedin(
    app: App, *, ends: datetime, refresh_ends: datetime, refresh: str = linkedin_api.REFRESH_TOKEN
) -> None:
    account = account_for_channel(app.settings, "linkedin")
    assert account is not None
    save_token(
        app.engine, app.settings, account, AccountToken(linkedin_api.TOKEN, ends, refresh, refresh_ends)
    )


def wired_linkedin(app: App, fake: FakeLinkedIn) -> Channel[Any]:
    built = make_channel(app.settings, "linkedin", app.engine)
    inner: Any = built
    while hasattr(inner, "inner"):
        inner = inner.inner
    inner.session.mount("https://", fake)
    return built


def test_an_access_token_close_to_its_end_is_refreshed_with_the_refresh_token(
    linkedin_app: App, clock: time_machine.Traveller
) -> None:
    fake = FakeLinkedIn(age_days=57)
    now = datetime.now(UTC)
    store_linkedin(linkedin_app, ends=now + timedelta(days=3), refresh_ends=now + timedelta(days=308))
    wired_linkedin(linkedin_app, fake).send(linkedin_post())
    grant = next(s for s in fake.seen if "oauth/v2/accessToken" in s.url)
    assert (
        b"grant_type=refresh_token" in grant.body
        and linkedin_api.CLIENT_SECRET.encode() not in grant.url.encode()
    )
    assert fake.posts and fake.seen[-1].headers["Authorization"] != f"Bearer {linkedin_api.TOKEN}"
    with linkedin_app.engine.connect() as c:
        row = c.execute(sa.select(SocialAccount)).one()
    assert row.expires_at == now + timedelta(days=60) and row.status == "ok"
    assert row.refresh_expires_at == now + timedelta(days=308)  # LinkedIn never extends it
    listed = {r.channel: r for r in list_accounts(linkedin_app.engine, linkedin_app.settings)}["linkedin"]
    assert listed.refresh_expires_at == now + timedelta(days=308) and listed.token == "stored"


def test_a_refresh_token_near_its_end_pauses_the_account_and_asks_for_authorisation(
    linkedin_app: App, clock: time_machine.Traveller
) -> None:
    fake = FakeLinkedIn(age_days=361)  # the refresh token ends in 4 days: refreshing cannot reach past
    now = datetime.now(UTC)
    store_linkedin(linkedin_app, ends=now + timedelta(days=2), refresh_ends=now + timedelta(days=4))
    with pytest.raises(RateLimited) as paused:
        wired_linkedin(linkedin_app, fake).send(linkedin_post())
    assert paused.value.pause_account and fake.posts == []
    assert "its refresh token ends 2026-12-01" in str(paused.value)
    listed = {r.channel: r for r in list_accounts(linkedin_app.engine, linkedin_app.settings)}["linkedin"]
    assert listed.status == "needs_reauth" and "distro auth linkedin --account page" in (
        listed.last_error or ""
    )


def test_a_refused_refresh_pauses_the_account_through_the_outbox(
    linkedin_app: App, clock: time_machine.Traveller
) -> None:
    now, refresh = datetime.now(UTC), "AQWrevoked-refresh-token-0123"
    store_linkedin(
        linkedin_app, ends=now + timedelta(days=5), refresh_ends=now + timedelta(days=200), refresh=refresh
    )
    fake = FakeLinkedIn()
    linkedin_app.channel_factory = lambda name: wired_linkedin(linkedin_app, fake)
    ingest(linkedin_app, backfill=1)
    assert plan_social(linkedin_app) == 1
    assert dispatch(linkedin_app, ["linkedin"])["linkedin"].sent == 0 and fake.posts == []
    with linkedin_app.engine.connect() as c:
        pause = c.execute(sa.select(ChannelPause)).one()
    assert "refreshing it was refused (LinkedIn refused the refresh (HTTP 400" in pause.reason
    assert refresh not in pause.reason and linkedin_api.CLIENT_SECRET not in pause.reason
    listed = {r.channel: r for r in list_accounts(linkedin_app.engine, linkedin_app.settings)}["linkedin"]
    assert listed.status == "needs_reauth" and listed.paused and "2026-12-02" in (listed.last_error or "")
