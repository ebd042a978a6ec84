"""Several accounts per platform, encrypted tokens, account health and editor overrides, end to end.

Tests that ingest and plan posts run at the ``clock`` fixture's pinned instant, so each post's slot does not
depend on when the suite runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from cryptography.fernet import Fernet
from pydantic import SecretStr

from distro.accounts import (
    AccountGuard,
    account_for_channel,
    list_accounts,
    platform_settings,
    store_token,
)
from distro.app import App, build_app, make_channel
from distro.channels.base import Channel
from distro.channels.x import XChannel, make_client
from distro.db import upgrade
from distro.errors import ConfigError
from distro.models import Delivery, SocialAccount, SocialPost
from distro.services.delivery import dispatch
from distro.services.ingest import ingest
from distro.services.social import edit_post, plan_social
from distro.settings import Settings, SocialAccountSettings
from tests.fakes import x_api


def security_desk(settings: Settings, mode: str = "file") -> Settings:
    settings.x.accounts = [SocialAccountSettings(name="security", mode=mode, sections=["Security"])]  # type: ignore[arg-type]
    settings.mastodon.enabled = settings.bluesky.enabled = True
    return settings


def test_each_account_posts_its_sections_to_its_own_channel(
    settings: Settings, clock: time_machine.Traveller
) -> None:
    app = build_app(security_desk(settings))
    upgrade(app.engine)
    ingest(app)
    assert app.enabled_channels() == ["email", "x", "x:security", "facebook", "mastodon", "bluesky"]
    created = plan_social(app)
    with app.engine.connect() as c:
        rows = c.execute(sa.select(Delivery.channel, sa.func.count()).group_by(Delivery.channel)).all()
        sections = (
            c.execute(
                sa.text(
                    "select distinct a.section from socialpost p join article a "
                    "on a.id = p.article_id where p.account = 'security'"
                )
            )
            .scalars()
            .all()
        )
    counts = dict(rows)  # type: ignore[arg-type]
    assert counts["x"] == counts["facebook"] == counts["mastodon"] == counts["bluesky"] == 12
    assert 0 < counts["x:security"] < 12 and sections == ["Security"]
    assert created == sum(counts.values()) and plan_social(app) == 0
    reports = dispatch(app, [c for c in app.enabled_channels() if c != "email"])
    assert reports["x:security"].sent == counts["x:security"]
    x_files = list((settings.social_dir / "x").glob("*.json"))
    assert len(x_files) == 12 + counts["x:security"]
    bluesky_body = json.loads(next((settings.social_dir / "bluesky").glob("*.json")).read_text())
    assert bluesky_body["$type"] == "app.bsky.feed.post" and bluesky_body["facets"]
    app.engine.dispose()


def test_tokens_are_refused_without_a_key_and_stored_encrypted(app: App) -> None:
    with pytest.raises(ConfigError, match="DISTRO_TOKEN_KEY"):
        store_token(app.engine, app.settings, platform="x", name="security", token={"access_token": "t"})
    app.settings.token_key = SecretStr(Fernet.generate_key().decode())
    secret = {"access_token": "tok-abc-123", "access_token_secret": "tok-secret-456"}
    store_token(app.engine, app.settings, platform="x", name="security", token=secret)
    with app.engine.connect() as c:
        stored = c.execute(sa.select(SocialAccount.token)).scalar_one()  # type: ignore[call-overload]
    assert "tok-abc-123" not in stored and "tok-secret" not in stored
    security_desk(app.settings, mode="api")
    account = account_for_channel(app.settings, "x:security")
    assert account is not None
    config = platform_settings(app.engine, app.settings, account)
    assert config.access_token.get_secret_value() == "tok-abc-123"
    rows = {r.channel: r for r in list_accounts(app.engine, app.settings)}
    assert rows["x:security"].token == "stored" and rows["x"].token == "not needed"
    assert "tok-abc" not in repr(rows)


def test_an_api_account_without_a_stored_token_names_the_command(settings: Settings) -> None:
    app = build_app(security_desk(settings, mode="api"))
    upgrade(app.engine)
    with pytest.raises(ConfigError, match="distro auth x --account security"):
        make_channel(app.settings, "x:security", app.engine)
    app.engine.dispose()


def test_a_revoked_token_pauses_only_that_account_and_tells_the_editor(
    settings: Settings, clock: time_machine.Traveller
) -> None:
    settings.token_key = SecretStr(Fernet.generate_key().decode())
    settings.x.api_key, settings.x.api_secret = (
        SecretStr(x_api.CONSUMER_KEY),
        SecretStr(x_api.CONSUMER_SECRET),
    )
    app = build_app(security_desk(settings, mode="api"))
    upgrade(app.engine)
    store_token(
        app.engine,
        settings,
        platform="x",
        name="security",
        token={"access_token": x_api.ACCESS_TOKEN, "access_token_secret": "revoked-secret"},
    )
    fake = x_api.FakeXAPI()

    def channels(name: str) -> Channel[Any]:
        account = account_for_channel(settings, name)
        if account is None or account.mode == "file":
            return make_channel(settings, name, app.engine)
        config = platform_settings(app.engine, settings, account)
        client = make_client(config)
        client.session.mount("https://", fake)
        channel = XChannel(config, client=client)
        channel.name = account.channel
        return AccountGuard(channel, app.engine, account)

    app.channel_factory = channels
    ingest(app)
    plan_social(app)
    reports = dispatch(app, ["x", "x:security"])
    assert reports["x"].sent == 12 and reports["x:security"].paused == ["x:security"]
    rows = {r.channel: r for r in list_accounts(app.engine, settings)}
    assert rows["x:security"].status == "needs_reauth" and rows["x:security"].pending > 0
    assert "re-authorise" in (rows["x:security"].last_error or "")
    assert "revoked-secret" not in (rows["x:security"].last_error or "")
    assert rows["x"].status == "ok"
    app.engine.dispose()


def test_editor_override_and_section_template(
    settings: Settings, tmp_path: Path, clock: time_machine.Traveller
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(settings.templates_dir, templates)
    (templates / "social" / "x.Security.txt.j2").write_text("SECURITY DESK: {{ article.title }} {{ link }}\n")
    settings.templates_dir = templates
    settings.social.hashtags = {"Economy": ["#Markets"]}
    app = build_app(settings)
    upgrade(app.engine)
    ingest(app)
    plan_social(app)
    with app.engine.connect() as c:
        posts = c.execute(sa.select(SocialPost.article_id, SocialPost.platform, SocialPost.text)).all()  # type: ignore[call-overload]
        sections = dict(c.execute(sa.text("select id, section from article")).all())
    x_posts = {a: t for a, p, t in posts if p == "x"}
    assert all(t.startswith("SECURITY DESK:") == (sections[a] == "Security") for a, t in x_posts.items())
    assert all(("#Markets" in t) == (sections[a] == "Economy") for a, t in x_posts.items())
    article = next(iter(x_posts))
    assert edit_post(app, article, "x", "Read this now https://meridian-review.example/x") == 1
    with pytest.raises(ValueError, match="limit is 280"):
        edit_post(app, article, "x", "界" * 141)
    dispatch(app, ["x"])
    sent = json.loads(
        next(p for p in (settings.social_dir / "x").glob(f"social_{article}_x_*.json")).read_text()
    )
    assert sent == {"text": "Read this now https://meridian-review.example/x"}
    with pytest.raises(ValueError, match="already sent"):
        edit_post(app, article, "x", "too late")
    app.engine.dispose()
