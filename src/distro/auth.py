"""`distro auth x|facebook|threads|linkedin`: obtain an account's token and store it encrypted.

Both flows are interactive but take their input and output as callables (``ask``, ``say``), so the CLI
passes ``input``/``print`` and tests pass a script; an ``adapter`` (a requests transport) may be mounted
on every session the flow uses, which is how tests put fake X and Graph servers behind the real tweepy,
requests-oauthlib and oauthlib code. Every HTTP call has the platform's timeout.

X: OAuth 1.0a PIN flow (``oob`` callback) through tweepy's ``OAuth1UserHandler``; the token does not
expire. Facebook: OAuth 2.0 code flow through requests-oauthlib's ``OAuth2Session`` with its Facebook
compliance fix, the user token exchanged for a long-lived one, then ``/me/accounts`` for the Page's token;
a Page token obtained from a long-lived user token does not expire, which is recorded as no expiry.

Threads and LinkedIn: the editor pastes a token (asked with ``ask_secret``, which the CLI makes a hidden
prompt). Threads: a long-lived user token, checked with ``GET /me`` and refreshed at once so its end is
known (a token less than a day old cannot be refreshed yet: then it ends at most 60 days from now, which
is what is recorded, once the editor says it is that new). LinkedIn: a refresh token, traded for an access
token (which gives both ends), or else an access token alone, counted as LinkedIn's 60 days from now and
never refreshable; either way the page's posts are read once, which proves the token, the page and the
permissions. Tokens reach only :func:`distro.accounts.store_token` (Fernet-sealed); nothing here prints or
logs them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests
import tweepy
from requests.adapters import BaseAdapter
from requests_oauthlib import OAuth1Session, OAuth2Session
from requests_oauthlib.compliance_fixes import facebook_compliance_fix
from sqlalchemy.engine import Engine

from distro.accounts import Account, configured_accounts, save_token, store_token
from distro.channels.facebook import GRAPH_URL, appsecret_proof
from distro.channels.tokens import AccountToken
from distro.crypto import token_box
from distro.errors import ConfigError, DeliveryError, Refused
from distro.settings import Settings

X_OAUTH_URL = "https://api.x.com/oauth/"
FACEBOOK_DIALOG_URL = "https://www.facebook.com/{version}/dialog/oauth"
# What posting to a Page needs: list the Pages, publish, and read the Page's posts (the retry check).
FACEBOOK_SCOPES = ("pages_show_list", "pages_manage_posts", "pages_read_engagement")

Ask = Callable[[str], str]
Say = Callable[[str], None]


class AuthError(Refused):
    """An authorisation flow failed; the message says which step and what to check."""


def pick_account(settings: Settings, platform: str, name: str | None) -> Account:
    """The platform's account called ``name`` (default: its first account); ConfigError names the choices."""
    accounts = [a for a in configured_accounts(settings) if a.platform == platform]
    if not accounts:
        raise ConfigError(f"{platform} is not enabled; set {platform}.enabled = true")
    if name is None:
        return accounts[0]
    for account in accounts:
        if account.name == name:
            return account
    names = ", ".join(a.name for a in accounts)
    raise ConfigError(f"{platform} has no account {name!r}; configured accounts: {names}")


def _prepare(session: requests.Session, timeout: float, adapter: BaseAdapter | None) -> requests.Session:
    """Give ``session`` a default timeout (the OAuth libraries pass none) and the test transport, if any."""
    if adapter is not None:
        session.mount("https://", adapter)
    send = session.request

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = timeout
        return send(method, url, *args, **kwargs)

    session.request = request  # type: ignore[method-assign,assignment]
    return session


class _XHandler(tweepy.OAuth1UserHandler):  # type: ignore[misc]
    """tweepy's handler on X's current host, with every session it makes prepared by ``_prepare``.

    tweepy builds a fresh ``OAuth1Session`` for the access-token step, so the hook sits on the attribute.
    """

    def __init__(self, key: str, secret: str, *, timeout: float, adapter: BaseAdapter | None) -> None:
        self._session_setup = (timeout, adapter)
        super().__init__(key, secret, callback="oob")

    @property
    def oauth(self) -> OAuth1Session:
        return self._oauth

    @oauth.setter
    def oauth(self, session: OAuth1Session) -> None:
        _prepare(session, *self._session_setup)
        self._oauth = session

    def _get_oauth_url(self, endpoint: str) -> str:
        return X_OAUTH_URL + endpoint


def authorize_x(
    engine: Engine,
    settings: Settings,
    *,
    account: str | None = None,
    ask: Ask,
    say: Say,
    adapter: BaseAdapter | None = None,
) -> Account:
    """PIN flow: request token, the editor opens the URL and types the PIN, access token stored sealed."""
    chosen = pick_account(settings, "x", account)
    token_box(settings.token_key)  # refuse before the editor does anything when tokens cannot be stored
    x = settings.x
    if x.api_key is None or x.api_secret is None:
        raise ConfigError("set DISTRO_X__API_KEY and DISTRO_X__API_SECRET (the X app's consumer keys) first")
    handler = _XHandler(
        x.api_key.get_secret_value(), x.api_secret.get_secret_value(), timeout=x.timeout, adapter=adapter
    )
    try:
        url = handler.get_authorization_url()
    except tweepy.TweepyException as exc:
        raise AuthError(
            f"X refused the request token ({_cause(exc)}); check DISTRO_X__API_KEY and DISTRO_X__API_SECRET "
            "and that the app has OAuth 1.0a user authentication with read and write permission"
        ) from None
    say(f"Open this address signed in as the X account for {chosen.channel}, authorise the app:\n{url}")
    pin = ask("PIN shown by X: ").strip()
    if not pin.isdigit():
        raise AuthError(
            "the PIN is the number X shows after you authorise the app; run `distro auth x` again"
        )
    try:
        token, secret = handler.get_access_token(pin)
    except tweepy.TweepyException as exc:
        raise AuthError(
            f"X refused the PIN ({_cause(exc)}); PINs work once and expire within minutes: "
            "run `distro auth x` again"
        ) from None
    user_id = token.split("-", 1)[0] if "-" in token else None
    store_token(
        engine,
        settings,
        platform="x",
        name=chosen.name,
        token={"access_token": token, "access_token_secret": secret},
        user_id=user_id,
    )
    say(f"stored the X token for {chosen.channel} (user id {user_id}); X user tokens do not expire")
    return chosen


def authorize_facebook(
    engine: Engine,
    settings: Settings,
    *,
    account: str | None = None,
    ask: Ask,
    say: Say,
    adapter: BaseAdapter | None = None,
) -> Account:
    """Code flow -> long-lived user token -> the Page's token from ``/me/accounts``, stored sealed."""
    chosen = pick_account(settings, "facebook", account)
    token_box(settings.token_key)
    fb = settings.facebook
    if not fb.app_id or fb.app_secret is None or not fb.app_secret.get_secret_value():
        raise ConfigError("set facebook.app_id and DISTRO_FACEBOOK__APP_SECRET (the Meta app's) first")
    app_secret = fb.app_secret.get_secret_value()
    page_id = chosen.page_id or fb.page_id
    graph = f"{GRAPH_URL}/{quote(fb.graph_version)}"
    session = OAuth2Session(fb.app_id, redirect_uri=fb.redirect_uri, scope=list(FACEBOOK_SCOPES))
    session = facebook_compliance_fix(_prepare(session, fb.timeout, adapter))
    url, _state = session.authorization_url(FACEBOOK_DIALOG_URL.format(version=quote(fb.graph_version)))
    say(
        f"Open this address as an admin of Page {page_id}, allow the app, "
        f"then copy the address you land on:\n{url}"
    )
    answer = ask("The address you were sent to (or just its code): ").strip()
    given = {"authorization_response": answer} if answer.startswith("https://") else {"code": answer}
    try:
        short = session.fetch_token(
            f"{graph}/oauth/access_token", client_secret=app_secret, include_client_id=True, **given
        )
    except Exception as exc:  # oauthlib raises its own tree, requests its own; both end the flow here
        raise AuthError(
            f"Facebook refused the code ({_cause(exc)}); run `distro auth facebook` again"
        ) from None
    long_lived = _graph_get(
        session,
        f"{graph}/oauth/access_token",
        "exchange for a long-lived user token",
        grant_type="fb_exchange_token",
        client_id=fb.app_id,
        client_secret=app_secret,
        fb_exchange_token=short["access_token"],
    )
    user_token = str(long_lived.get("access_token") or "")
    session.token = {"access_token": user_token, "token_type": "Bearer"}
    pages = _graph_get(
        session,
        f"{graph}/me/accounts",
        "list the Pages",
        fields="id,name,access_token,tasks",
        appsecret_proof=appsecret_proof(app_secret, user_token),
    )
    page = _page(pages, page_id)
    store_token(
        engine,
        settings,
        platform="facebook",
        name=chosen.name,
        token={"page_access_token": page["access_token"], "page_id": page_id},
        expires_at=None,  # a Page token from a long-lived user token has no expiry
    )
    say(f"stored the Page token for {chosen.channel} ({page.get('name', page_id)}); it does not expire")
    return chosen


def _graph_get(session: OAuth2Session, url: str, step: str, **params: str) -> dict[str, Any]:
    """A Graph GET whose failure names the step and Graph's message (never the URL: it holds secrets)."""
    try:
        response = session.get(url, params=params)
    except requests.RequestException as exc:
        raise AuthError(f"could not {step} ({type(exc).__name__}); try again") from None
    try:
        data = response.json()
    except ValueError:
        data = {}
    if not response.ok or not isinstance(data, dict):
        error = data.get("error", {}) if isinstance(data, dict) else {}
        message = error.get("message", response.reason) if isinstance(error, dict) else response.reason
        raise AuthError(f"Facebook refused to {step} (HTTP {response.status_code}: {message})")
    return data


def _page(pages: dict[str, Any], page_id: str) -> dict[str, Any]:
    listed = [p for p in pages.get("data", ()) if isinstance(p, dict)]
    for page in listed:
        if str(page.get("id")) == page_id and page.get("access_token"):
            tasks = page.get("tasks")
            if isinstance(tasks, list) and "CREATE_CONTENT" not in tasks:
                raise AuthError(
                    f"you cannot create content on Page {page_id}; ask a Page admin for that task"
                )
            return page
    found = ", ".join(f"{p.get('id')} ({p.get('name')})" for p in listed) or "none"
    raise AuthError(
        f"Page {page_id} is not among the Pages this login may manage (found: {found}); set the page_id "
        "of the account, or grant the app access to that Page in the dialog"
    )


def _cause(exc: BaseException) -> str:
    """A short, secret-free cause: the HTTP status when there is one, else the exception's type."""
    inner = exc.__context__ or exc.__cause__ or exc
    status = getattr(inner, "status_code", None) or getattr(
        getattr(inner, "response", None), "status_code", None
    )
    return f"HTTP {status}" if status else type(inner).__name__


def authorize_threads(
    engine: Engine,
    settings: Settings,
    *,
    account: str | None = None,
    ask: Ask,
    say: Say,
    ask_secret: Ask | None = None,
    adapter: BaseAdapter | None = None,
) -> Account:
    """Paste a long-lived Threads token: checked (``/me``), refreshed to learn its end, stored sealed."""
    from distro.channels.threads import GRAPH_URL as THREADS_URL
    from distro.channels.threads import ThreadsChannel

    chosen = pick_account(settings, "threads", account)
    token_box(settings.token_key)
    config = settings.threads
    say(
        f"Paste a long-lived Threads user token for the profile of {chosen.channel} (threads_basic and "
        "threads_content_publish; the Meta app's User Token Generator, or your own login exchanged with "
        "grant_type=th_exchange_token). It is not shown."
    )
    pasted = (ask_secret or ask)("Threads token: ").strip()
    session = _prepare(requests.Session(), config.timeout, adapter)
    me = _json_get(
        session,
        f"{THREADS_URL}/{quote(config.api_version)}/me",
        "read the Threads profile",
        fields="id,username",
        access_token=pasted,
    )
    token = AccountToken(pasted, None, user_id=str(me.get("id") or ""))
    try:
        token = ThreadsChannel(config, token, session=session).refresh()
        note = "refreshed now"
    except DeliveryError as exc:
        young = ask(f"Threads did not refresh it ({exc}). Was the token made in the last 24 hours? [y/N] ")
        if young.strip().lower() not in ("y", "yes"):
            raise AuthError("the token's end cannot be known; paste a long-lived token again") from None
        token = AccountToken(pasted, datetime.now(UTC) + timedelta(days=59), user_id=token.user_id)
        note = "too new to refresh, so counted as ending 59 days from now"
    save_token(engine, settings, chosen, token)
    ends = f"{token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "unknown"
    say(
        f"stored the Threads token for {chosen.channel} (@{me.get('username', '?')}, user id "
        f"{token.user_id}); {note}; it ends {ends} and distro refreshes it {config.refresh_days} days before"
    )
    return chosen


def authorize_linkedin(
    engine: Engine,
    settings: Settings,
    *,
    account: str | None = None,
    ask: Ask,
    say: Say,
    ask_secret: Ask | None = None,
    adapter: BaseAdapter | None = None,
) -> Account:
    """Paste a LinkedIn refresh token (or an access token): traded, checked on the page, stored sealed."""
    from distro.channels.linkedin import LinkedInChannel, exchange_refresh_token

    chosen = pick_account(settings, "linkedin", account)
    token_box(settings.token_key)
    organization = chosen.organization_id or settings.linkedin.organization_id
    config = settings.linkedin.model_copy(update={"organization_id": organization})
    secret = ask_secret or ask
    say(
        f"Paste the tokens of a LinkedIn member who administers page {organization} for {chosen.channel}, "
        "authorised for w_organization_social and r_organization_social (Developer Portal > your app > "
        "Auth > OAuth 2.0 tools). They are not shown."
    )
    refresh = secret("Refresh token (Enter if you have only an access token): ").strip()
    session = _prepare(requests.Session(), config.timeout, adapter)
    client = (config.client_id or "", config.client_secret.get_secret_value() if config.client_secret else "")
    try:
        if refresh:
            token = exchange_refresh_token(
                session, refresh_token=refresh, client=client, timeout=config.timeout
            )
        else:
            token = AccountToken(secret("Access token: ").strip(), datetime.now(UTC) + timedelta(days=60))
        LinkedInChannel(config, token, session=session).check_access()
    except DeliveryError as exc:
        raise AuthError(f"LinkedIn refused: {exc}") from None
    except ConfigError as exc:
        raise AuthError(str(exc)) from None
    save_token(engine, settings, chosen, token)
    ends = f"{token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "unknown"
    if token.refresh_token and token.refresh_expires_at:
        again = f"{token.refresh_expires_at:%Y-%m-%d}"
        later = f"refreshed {config.refresh_days} days before; authorise again by {again}"
    else:
        later = "it cannot be refreshed (no refresh token): authorise again before then"
    say(f"stored the LinkedIn token for {chosen.channel} (page {organization}); it ends {ends}, {later}")
    return chosen


def _json_get(session: requests.Session, url: str, step: str, **params: str) -> dict[str, Any]:
    """A GET whose failure names the step and the platform's message (never the URL: it holds the token)."""
    try:
        response = session.get(url, params=params)
    except requests.RequestException as exc:
        raise AuthError(f"could not {step} ({type(exc).__name__}); try again") from None
    try:
        data = response.json()
    except ValueError:
        data = {}
    if not response.ok or not isinstance(data, dict):
        error = data.get("error", {}) if isinstance(data, dict) else {}
        message = error.get("message", response.reason) if isinstance(error, dict) else response.reason
        raise AuthError(f"could not {step} (HTTP {response.status_code}: {message}); check the token")
    return data
