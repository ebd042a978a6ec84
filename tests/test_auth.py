"""`distro auth x` / `distro auth facebook` through the real tweepy, requests-oauthlib and oauthlib code.

X and Graph are faked at the transport level: oauthlib's server endpoints verify the OAuth 1.0a flow,
the Graph fake checks the code, the app secret, the exchange and the bearer tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from pydantic import SecretStr

from distro.accounts import account_for_channel, list_accounts, platform_settings
from distro.app import App
from distro.auth import AuthError, authorize_facebook, authorize_x
from distro.channels import x
from distro.channels.base import SocialOut
from distro.errors import ConfigError
from distro.models import SocialAccount
from distro.settings import SocialAccountSettings
from tests.fakes import graph_oauth, x_api, x_oauth
from tests.fakes.graph_oauth import FakeGraphOAuth
from tests.fakes.x_api import FakeXAPI
from tests.fakes.x_oauth import FakeXOAuth


@pytest.fixture
def keyed(app: App) -> Iterator[App]:
    """The app with a token key, X consumer keys and the Meta app configured (all accounts in API mode)."""
    s = app.settings
    s.token_key = SecretStr(Fernet.generate_key().decode())
    s.x.mode = s.facebook.mode = "api"
    s.x.api_key, s.x.api_secret = SecretStr(x_api.CONSUMER_KEY), SecretStr(x_api.CONSUMER_SECRET)
    s.x.timeout = s.facebook.timeout = 4.5
    s.facebook.app_id, s.facebook.app_secret = graph_oauth.APP_ID, SecretStr(graph_oauth.APP_SECRET)
    s.facebook.page_id = graph_oauth.PAGE_ID
    s.facebook.redirect_uri = graph_oauth.REDIRECT_URI
    yield app


class Editor:
    """Plays the person at the terminal: reads what is printed, answers what is asked."""

    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.printed: list[str] = []

    def say(self, text: str) -> None:
        self.printed.append(text)

    def url(self) -> str:
        return next(w for w in " ".join(self.printed).split() if w.startswith("https://"))

    def io(self) -> dict[str, Any]:
        return {"ask": self.ask, "say": self.say}

    def ask(self, prompt: str) -> str:
        return self.answer(self.url()) if callable(self.answer) else str(self.answer)


def stored_row(app: App, name: str) -> sa.Row:
    with app.engine.connect() as c:
        return c.execute(sa.select(SocialAccount.__table__).where(SocialAccount.name == name)).one()  # type: ignore[attr-defined]


# --- X -----------------------------------------------------------------------------------------------------


def test_the_x_pin_flow_stores_a_token_that_posts(keyed: App) -> None:
    fake = FakeXOAuth()
    editor = Editor(lambda url: fake.authorize(parse_qs(urlsplit(url).query)["oauth_token"][0]))

    account = authorize_x(keyed.engine, keyed.settings, ask=editor.ask, say=editor.say, adapter=fake)

    assert editor.url().startswith("https://api.x.com/oauth/authorize?oauth_token=")
    assert [(m, u, t, s) for m, u, t, s in fake.seen] == [
        ("POST", "https://api.x.com/oauth/request_token", 4.5, 200),
        ("POST", "https://api.x.com/oauth/access_token", 4.5, 200),
    ]
    ((token, secret),) = fake.validator.access_tokens.items()
    row = stored_row(keyed, account.name)
    assert row.user_id == x_oauth.USER_ID and row.expires_at is None
    assert token not in row.token and secret not in row.token and token not in " ".join(editor.printed)
    # the stored token is the one the channel signs with, and X (the fake) accepts the signature
    config = platform_settings(keyed.engine, keyed.settings, account)
    poster = FakeXAPI(access_token=token, access_token_secret=secret)
    client = x.make_client(config)
    client.session.mount("https://", poster)
    receipt = x.XChannel(config, client=client).send(SocialOut("k", "x", "main", x.build_body("Hello")))
    assert receipt.provider_id and poster.tweets[0]["text"] == "Hello"
    assert {r.channel: r.token for r in list_accounts(keyed.engine, keyed.settings)}["x"] == "stored"


def test_a_wrong_pin_is_refused_by_x_and_nothing_is_stored(keyed: App) -> None:
    fake = FakeXOAuth()
    editor = Editor(lambda url: fake.authorize(parse_qs(urlsplit(url).query)["oauth_token"][0]) and "1234567")

    with pytest.raises(AuthError, match="X refused the PIN .*HTTP 401.*run `distro auth x` again"):
        authorize_x(keyed.engine, keyed.settings, ask=editor.ask, say=editor.say, adapter=fake)
    with keyed.engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(SocialAccount.__table__)).scalar() == 0  # type: ignore[attr-defined]


def test_wrong_consumer_keys_are_named(keyed: App) -> None:
    keyed.settings.x.api_secret = SecretStr("NotTheSecretNotTheSecretNotTheSecret")
    editor = Editor("1234567")

    with pytest.raises(AuthError, match="request token .*DISTRO_X__API_KEY") as caught:
        authorize_x(keyed.engine, keyed.settings, ask=editor.ask, say=editor.say, adapter=FakeXOAuth())
    assert "NotTheSecret" not in str(caught.value) and editor.printed == []


def test_auth_refuses_before_the_flow_without_a_key_or_with_an_unknown_account(keyed: App) -> None:
    with pytest.raises(ConfigError, match="has no account 'desk'; configured accounts: main"):
        authorize_x(keyed.engine, keyed.settings, account="desk", ask=input, say=print)
    keyed.settings.token_key = None
    with pytest.raises(ConfigError, match="DISTRO_TOKEN_KEY"):
        authorize_x(keyed.engine, keyed.settings, ask=input, say=print, adapter=FakeXOAuth())


# --- Facebook ----------------------------------------------------------------------------------------------


def test_the_facebook_flow_stores_the_pages_token_without_expiry(keyed: App) -> None:
    fake = FakeGraphOAuth()
    editor = Editor(fake.login)

    account = authorize_facebook(keyed.engine, keyed.settings, ask=editor.ask, say=editor.say, adapter=fake)

    assert editor.url().startswith("https://www.facebook.com/v25.0/dialog/oauth?response_type=code")
    steps = [(m, p, params.get("grant_type"), t, s) for m, p, params, t, s in fake.seen]
    assert steps == [
        ("POST", "/v25.0/oauth/access_token", "authorization_code", 4.5, 200),
        ("GET", "/v25.0/oauth/access_token", "fb_exchange_token", 4.5, 200),
        ("GET", "/v25.0/me/accounts", None, 4.5, 200),
    ]
    row = stored_row(keyed, account.name)
    assert row.expires_at is None and graph_oauth.PAGE_TOKEN not in row.token
    assert graph_oauth.PAGE_TOKEN not in " ".join(editor.printed) and "does not expire" in editor.printed[-1]
    config = platform_settings(keyed.engine, keyed.settings, account)
    assert config.page_access_token.get_secret_value() == graph_oauth.PAGE_TOKEN
    assert config.page_id == graph_oauth.PAGE_ID


def test_a_pasted_code_works_for_a_second_page_account(keyed: App) -> None:
    keyed.settings.facebook.accounts = [SocialAccountSettings(name="security", page_id=graph_oauth.PAGE_ID)]
    fake = FakeGraphOAuth()
    editor = Editor(lambda url: dict(parse_qsl(urlsplit(fake.login(url)).query))["code"])

    authorize_facebook(
        keyed.engine, keyed.settings, account="security", ask=editor.ask, say=editor.say, adapter=fake
    )

    account = account_for_channel(keyed.settings, "facebook:security")
    assert account is not None
    assert platform_settings(keyed.engine, keyed.settings, account).page_access_token is not None


def test_a_page_the_login_cannot_manage_is_named_with_the_choices(keyed: App) -> None:
    keyed.settings.facebook.page_id = "100000000000999"
    fake = FakeGraphOAuth()

    with pytest.raises(
        AuthError, match=r"Page 100000000000999 is not among .*100000000000777 \(Another Page\)"
    ) as caught:
        authorize_facebook(keyed.engine, keyed.settings, **Editor(fake.login).io(), adapter=fake)
    assert graph_oauth.PAGE_TOKEN not in str(caught.value)


def test_a_used_code_or_wrong_app_secret_is_refused_clearly(keyed: App) -> None:
    fake = FakeGraphOAuth()
    with pytest.raises(AuthError, match="Facebook refused the code .*run `distro auth facebook` again"):
        authorize_facebook(
            keyed.engine, keyed.settings, ask=lambda _: "AQnot-a-code", say=print, adapter=fake
        )
    keyed.settings.facebook.app_secret = SecretStr("0" * 32)
    with pytest.raises(AuthError) as caught:
        authorize_facebook(keyed.engine, keyed.settings, **Editor(fake.login).io(), adapter=fake)
    assert "0" * 32 not in str(caught.value)


def test_without_create_content_the_editor_is_told(keyed: App) -> None:
    fake = FakeGraphOAuth(tasks=("ANALYZE",))
    with pytest.raises(AuthError, match="cannot create content on Page"):
        authorize_facebook(keyed.engine, keyed.settings, **Editor(fake.login).io(), adapter=fake)
