"""XChannel through the real tweepy, requests-oauthlib and oauthlib code, with X faked at the transport."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import tweepy
from requests_oauthlib import OAuth1

from distro.channels import x
from distro.channels._http import TimeoutSession
from distro.channels.base import SocialOut
from distro.errors import (
    ChannelFailure,
    ConfigError,
    DeliveryError,
    PermanentFailure,
    RateLimited,
    TemporaryFailure,
)
from distro.platforms.x import build_body
from distro.settings import XSettings
from tests.fakes import x_api
from tests.fakes.x_api import FakeXAPI

SECRETS = (x_api.CONSUMER_KEY, x_api.CONSUMER_SECRET, x_api.ACCESS_TOKEN, x_api.ACCESS_TOKEN_SECRET)
TIMEOUT = 7.5


def make_settings(**overrides: Any) -> XSettings:
    values: dict[str, Any] = {
        "mode": "api",
        "api_key": x_api.CONSUMER_KEY,
        "api_secret": x_api.CONSUMER_SECRET,
        "access_token": x_api.ACCESS_TOKEN,
        "access_token_secret": x_api.ACCESS_TOKEN_SECRET,
        "timeout": TIMEOUT,
    }
    values.update(overrides)
    return XSettings(**values)


def connect(
    fake: FakeXAPI, settings: XSettings | None = None, *, clock: Callable[[], float] = time.time
) -> x.XChannel:
    """The channel as production builds it, with the fake mounted under tweepy's session."""
    settings = settings or make_settings()
    client = x.make_client(settings)
    client.session.mount("https://", fake)
    return x.XChannel(settings, client=client, clock=clock)


def post(text: str = "Sanctions, explained: Monday", *, reply_to: str | None = None) -> SocialOut:
    body = build_body(text, reply_to=reply_to)
    return SocialOut(key="article-1:x:main", platform="x", account="main", body=body)


def send_failing(channel: x.XChannel, message: SocialOut | None = None) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        channel.send(message or post())
    assert_no_secrets(caught.value)
    return caught.value


def assert_no_secrets(error: BaseException) -> None:
    text = f"{error} {error!r} {getattr(error, 'reason', '')}"
    for secret in SECRETS:
        assert secret not in text


@pytest.fixture
def fake() -> FakeXAPI:
    return FakeXAPI()


@pytest.fixture
def channel(fake: FakeXAPI) -> Iterator[x.XChannel]:
    channel = connect(fake)
    yield channel
    channel.close()


# --- the body ---------------------------------------------------------------------------------------------

BODIES = [
    pytest.param("Hello", None, {"text": "Hello"}, id="text"),
    pytest.param(
        "Follow-up",
        "1850000000000000000",
        {"reply": {"in_reply_to_tweet_id": "1850000000000000000"}, "text": "Follow-up"},
        id="reply",
    ),
]


@pytest.mark.parametrize(("text", "reply_to", "expected"), BODIES)
def test_post_returns_tweet_id_and_x_receives_exactly_build_body(
    channel: x.XChannel, fake: FakeXAPI, text: str, reply_to: str | None, expected: dict[str, Any]
) -> None:
    receipt = channel.send(post(text, reply_to=reply_to))

    assert receipt.provider_id == "1850000000000000001"
    sent = fake.seen[-1]
    assert (sent.method, sent.url, sent.status) == ("POST", "https://api.twitter.com/2/tweets", 201)
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Authorization"].startswith("OAuth ")
    assert sent.json() == expected
    assert list(sent.json()) == list(build_body(text, reply_to=reply_to))  # same key order, too


def test_body_not_made_by_build_body_is_refused_before_sending(channel: x.XChannel, fake: FakeXAPI) -> None:
    odd = SocialOut(key="k", platform="x", account="main", body={"text": "hi", "media": {"media_ids": ["1"]}})

    error = send_failing(channel, odd)

    assert isinstance(error, PermanentFailure) and "build_body" in str(error)
    assert fake.seen == []


# --- timeouts ---------------------------------------------------------------------------------------------


def test_every_request_carries_the_configured_timeout(channel: x.XChannel, fake: FakeXAPI) -> None:
    channel.send(post("one"))
    channel.send(post("two"))

    assert [seen.timeout for seen in fake.seen] == [TIMEOUT, TIMEOUT]


def test_an_injected_plain_tweepy_client_gets_the_timeout_and_keeps_its_adapter(fake: FakeXAPI) -> None:
    client = tweepy.Client(
        consumer_key=x_api.CONSUMER_KEY,
        consumer_secret=x_api.CONSUMER_SECRET,
        access_token=x_api.ACCESS_TOKEN,
        access_token_secret=x_api.ACCESS_TOKEN_SECRET,
    )
    client.session.mount("https://", fake)

    x.XChannel(make_settings(), client=client).send(post())

    assert fake.seen[-1].timeout == TIMEOUT
    assert isinstance(client.session, TimeoutSession)


# --- the fake really checks OAuth 1.0a --------------------------------------------------------------------


@pytest.mark.parametrize("wrong", ["api_key", "api_secret", "access_token", "access_token_secret"])
def test_a_wrong_credential_is_rejected_by_the_fake_and_is_permanent(fake: FakeXAPI, wrong: str) -> None:
    value = "Wr0ngWr0ngWr0ngWr0ngWr0ng" if "token" not in wrong else "999-Wr0ngWr0ngWr0ngWr0ng"
    channel = connect(fake, make_settings(**{wrong: value}))

    error = send_failing(channel)

    assert fake.seen[-1].status == 401
    assert type(error) is ChannelFailure  # the account pauses; the post stays queued
    assert "invalid or revoked" in str(error) and "re-authorise" in str(error)
    assert value not in str(error)
    assert fake.tweets == []


def signed_request(secret: str = x_api.CONSUMER_SECRET) -> requests.PreparedRequest:
    auth = OAuth1(x_api.CONSUMER_KEY, secret, x_api.ACCESS_TOKEN, x_api.ACCESS_TOKEN_SECRET)
    return requests.Request("POST", "https://api.x.com/2/tweets", json={"text": "hi"}, auth=auth).prepare()


def test_the_fake_rejects_unsigned_and_replayed_requests(fake: FakeXAPI) -> None:
    unsigned = requests.Request("POST", "https://api.x.com/2/tweets", json={"text": "hi"}).prepare()
    signed = signed_request()

    assert fake.send(unsigned).status_code == 401
    assert fake.send(signed).status_code == 201
    replayed = fake.send(signed)  # same nonce and timestamp

    assert replayed.status_code == 401
    assert replayed.json() == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }


# --- error mapping ----------------------------------------------------------------------------------------

ERRORS = [
    pytest.param(x_api.unauthorized(), ChannelFailure, "invalid or revoked", id="401"),
    pytest.param(
        x_api.invalid_request("$.text: text is required"),
        PermanentFailure,
        "X rejected the post (400): $.text: text is required",
        id="400",
    ),
    pytest.param(x_api.duplicate(), PermanentFailure, "duplicate post refused by X (403)", id="403-dup"),
    pytest.param(x_api.client_forbidden(), PermanentFailure, "attached to a Project", id="403-other"),
    pytest.param(x_api.problem(404, "Not Found Error", "gone"), PermanentFailure, "(404): gone", id="404"),
    pytest.param(x_api.server_error(500), TemporaryFailure, "X server error (500)", id="500"),
    pytest.param(x_api.server_error(503), TemporaryFailure, "X server error (503)", id="503"),
    pytest.param(x_api.read_timeout(), TemporaryFailure, f"did not answer within {TIMEOUT:g}s", id="timeout"),
    pytest.param(x_api.connection_error(), TemporaryFailure, "could not reach X", id="connection"),
]


@pytest.mark.parametrize(("outcome", "expected", "fragment"), ERRORS)
def test_error_mapping(
    channel: x.XChannel, fake: FakeXAPI, outcome: Any, expected: type[DeliveryError], fragment: str
) -> None:
    fake.then(outcome)

    error = send_failing(channel)

    assert type(error) is expected
    assert fragment in str(error)


def test_a_repeated_text_on_a_first_try_is_a_permanent_duplicate(channel: x.XChannel, fake: FakeXAPI) -> None:
    channel.send(post("Same words"))

    error = send_failing(channel, post("Same words"))

    assert type(error) is PermanentFailure and str(error).startswith("duplicate")
    assert fake.seen[-1].status == 403
    assert [s.method for s in fake.seen] == ["POST", "POST"]  # a first try never looks for its post


def test_x_validation_errors_surface_with_their_detail(channel: x.XChannel) -> None:
    error = send_failing(channel, post("x" * 281))

    assert type(error) is PermanentFailure and "text is too long (weighted length 281 > 280)" in str(error)


# --- rate limits ---------------------------------------------------------------------------------------

NOW = 1_800_000_000  # the channel's clock, pinned: X's resets are epoch seconds
RATE_LIMITS = [
    pytest.param(x_api.too_many_requests(NOW + 120), 120, "x-rate-limit", True, id="15-minute-window"),
    pytest.param(
        x_api.too_many_requests(NOW + 120, remaining=40, user_24h=(0, NOW + 3600)),
        3600,
        "x-user-limit-24hour",
        True,
        id="user-24h-cap",
    ),
    pytest.param(
        x_api.too_many_requests(NOW + 120, remaining=40, app_24h=(0, NOW + 7200)),
        7200,
        "x-app-limit-24hour",
        True,
        id="app-24h-cap",
    ),
    pytest.param(
        x_api.too_many_requests(NOW + 120, user_24h=(0, NOW + 3600), app_24h=(0, NOW + 5000)),
        5000,
        "x-app-limit-24hour",
        True,
        id="both-caps-the-later-wins",
    ),
    pytest.param(
        x_api.too_many_requests(NOW + 120, user_24h=(12, NOW + 3600)),
        120,
        "x-rate-limit",
        True,
        id="cap-not-exhausted",
    ),
    pytest.param(x_api.too_many_requests(NOW - 30), 1, "x-rate-limit", True, id="reset-already-passed"),
    pytest.param(
        x_api.too_many_requests(NOW + 3 * 86400), x.MAX_RETRY_AFTER, "x-rate-limit", True, id="reset-absurd"
    ),
    pytest.param(
        x_api.too_many_requests(NOW + 120, remaining=40), 120, "x-rate-limit", False, id="burst-not-exhausted"
    ),
    pytest.param(
        x_api.Reply(429, x_api.problem(429, "Too Many Requests", "Too Many Requests").body),
        x.DEFAULT_RETRY_AFTER,
        "no reset header",
        False,
        id="no-headers",
    ),
]


@pytest.mark.parametrize(("outcome", "seconds", "window", "pause"), RATE_LIMITS)
def test_429_is_rate_limited_until_the_exhausted_window_resets(
    fake: FakeXAPI, outcome: x_api.Reply, seconds: float, window: str, pause: bool
) -> None:
    channel = connect(fake, clock=lambda: NOW)
    fake.then(outcome)

    error = send_failing(channel)

    assert type(error) is RateLimited
    assert (error.retry_after, error.pause_account) == (seconds, pause)
    assert window in str(error)
    assert ("the account pauses" if pause else "this post waits") in str(error)
    assert fake.seen[-1].status == 429 and fake.tweets == []


def test_the_429_reaches_the_channel_with_xs_headers_and_body(fake: FakeXAPI) -> None:
    fake.then(x_api.too_many_requests(NOW + 120))

    error = send_failing(connect(fake, clock=lambda: NOW))

    assert isinstance(error.__cause__, tweepy.TooManyRequests)
    response = error.__cause__.response
    assert response.json() == {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    assert {k: response.headers[k] for k in ("x-rate-limit-limit", "x-rate-limit-remaining")} == {
        "x-rate-limit-limit": "100",
        "x-rate-limit-remaining": "0",
    }
    assert response.headers["x-rate-limit-reset"] == str(NOW + 120)


class Clock:
    """Epoch seconds shared by the fake and the channel, moved on by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("window", "reset"),
    [
        ("x-rate-limit", NOW + 600),
        ("x-user-limit-24hour", NOW + 20 * 3600),
        ("x-app-limit-24hour", NOW + 9000),
    ],
)
def test_an_exhausted_window_pauses_the_account_until_its_reset(window: str, reset: int) -> None:
    clock = Clock(NOW)
    fake = FakeXAPI(clock=clock).exhaust(reset, window=window)
    channel = connect(fake, clock=clock)

    error = send_failing(channel)
    clock.now = reset - 1
    still = send_failing(channel, post("One second too early"))
    clock.now = reset
    receipt = channel.send(post("After the reset"))

    assert isinstance(error, RateLimited) and error.pause_account
    assert error.retry_after == reset - NOW and window in str(error)
    assert isinstance(still, RateLimited) and still.pause_account and still.retry_after == 1
    assert [t["text"] for t in fake.tweets] == ["After the reset"]
    assert receipt.provider_id == fake.tweets[0]["id"]


def test_an_exhausted_read_window_holds_back_only_the_retry_that_met_it(fake: FakeXAPI) -> None:
    fake.then(x_api.passthrough(), x_api.too_many_requests(NOW + 300))  # users/me, then the timeline

    error = send_failing(connect(fake, clock=lambda: NOW), retry(post()))

    assert type(error) is RateLimited and error.retry_after == 300
    assert not error.pause_account  # a first try of a text post does not read the timeline
    assert fake.seen[-1].url.split("?")[0].endswith(f"/2/users/{x_api.USER_ID}/tweets")


def test_a_24_hour_cap_met_by_a_read_still_pauses_the_account(fake: FakeXAPI) -> None:
    fake.then(x_api.too_many_requests(NOW + 300, remaining=5, user_24h=(0, NOW + 4000)))

    error = send_failing(connect(fake, clock=lambda: NOW), retry(post()))

    assert type(error) is RateLimited and error.pause_account and error.retry_after == 4000


# --- configuration and secrecy ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "env"),
    [
        ("api_key", "DISTRO_X__API_KEY"),
        ("api_secret", "DISTRO_X__API_SECRET"),
        ("access_token", "DISTRO_X__ACCESS_TOKEN"),
        ("access_token_secret", "DISTRO_X__ACCESS_TOKEN_SECRET"),
    ],
)
def test_a_missing_credential_is_a_config_error_naming_the_variable(missing: str, env: str) -> None:
    with pytest.raises(ConfigError) as caught:
        x.XChannel(make_settings(**{missing: None}))

    assert env in str(caught.value)
    assert_no_secrets(caught.value)


def test_all_missing_credentials_are_named_at_once() -> None:
    every = "DISTRO_X__API_KEY, DISTRO_X__API_SECRET, DISTRO_X__ACCESS_TOKEN, DISTRO_X__ACCESS_TOKEN_SECRET"
    with pytest.raises(ConfigError, match=every):
        x.XChannel(XSettings(mode="api"))


def test_credentials_never_reach_the_debug_log(fake: FakeXAPI, caplog: pytest.LogCaptureFixture) -> None:
    for name in ("requests_oauthlib", "oauthlib"):
        logging.getLogger(name).setLevel(logging.NOTSET)  # as a fresh process has them
    channel = connect(fake)
    caplog.set_level(logging.DEBUG)

    channel.send(post())
    fake.then(x_api.unauthorized())
    send_failing(channel, post("another"))

    assert "create_tweet" in caplog.text or "Making API request" in caplog.text  # tweepy did log
    for secret in SECRETS:
        assert secret not in caplog.text


# --- no double posts after an uncertain outcome -----------------------------------------------------------

LINKED = "Sanctions & tariffs, explained: https://example.com/news/sanctions?utm_source=x #Economy"


def retry(message: SocialOut) -> SocialOut:
    return SocialOut(message.key, message.platform, message.account, message.body, attempt=2)


def test_a_lost_answer_is_found_among_recent_posts_on_the_retry(fake: FakeXAPI, channel: x.XChannel) -> None:
    message = post(LINKED)
    fake.then(x_api.answer_lost())

    error = send_failing(channel, message)
    receipt = channel.send(retry(message))

    assert type(error) is TemporaryFailure and "did not answer" in str(error)
    assert len(fake.tweets) == 1  # posted once, not twice
    assert receipt.provider_id == fake.tweets[0]["id"]
    assert "already posted" in receipt.detail
    paths = [(s.method, s.url.split("?")[0]) for s in fake.seen]
    assert ("GET", "https://api.twitter.com/2/users/me") in paths
    assert ("GET", f"https://api.twitter.com/2/users/{x_api.USER_ID}/tweets") in paths
    assert all(s.timeout == TIMEOUT for s in fake.seen)


def test_a_retry_posts_when_the_earlier_try_never_arrived(fake: FakeXAPI, channel: x.XChannel) -> None:
    message = post(LINKED)
    fake.then(x_api.read_timeout())  # lost before X saw it
    send_failing(channel, message)
    channel.send(post("An older post of the account"))

    receipt = channel.send(retry(message))

    assert [t["text"] for t in fake.tweets] == ["An older post of the account", LINKED]
    assert receipt.provider_id == fake.tweets[-1]["id"] and receipt.detail == ""


def test_a_first_try_does_not_look_at_recent_posts(fake: FakeXAPI, channel: x.XChannel) -> None:
    channel.send(post())

    assert [s.method for s in fake.seen] == ["POST"]


def test_a_failing_look_at_recent_posts_does_not_post_blindly(fake: FakeXAPI, channel: x.XChannel) -> None:
    fake.then(x_api.too_many_requests(int(time.time()) + 600))

    error = send_failing(channel, retry(post()))

    assert type(error) is RateLimited
    assert fake.tweets == []


def test_a_duplicate_refusal_on_a_retry_is_the_lost_tweet_when_the_listing_lagged(
    fake: FakeXAPI, channel: x.XChannel
) -> None:
    message = post(LINKED)
    fake.then(x_api.answer_lost())
    send_failing(channel, message)
    # The retry's first look runs before the listing shows the new tweet; X itself knows it.
    fake.then(x_api.passthrough(), x_api.empty_timeline())

    receipt = channel.send(retry(message))

    assert len(fake.tweets) == 1
    assert receipt.provider_id == fake.tweets[0]["id"]
    assert receipt.detail.startswith("already posted") and "duplicate" in receipt.detail
    calls = [
        (s.method, s.url.split("?")[0].removeprefix("https://api.twitter.com"), s.status) for s in fake.seen
    ]
    assert calls[1:] == [
        ("GET", "/2/users/me", 200),
        ("GET", f"/2/users/{x_api.USER_ID}/tweets", 200),
        ("POST", "/2/tweets", 403),
        ("GET", f"/2/users/{x_api.USER_ID}/tweets", 200),
    ]


def test_a_duplicate_refusal_on_a_retry_stays_permanent_when_the_tweet_is_not_found(
    fake: FakeXAPI, channel: x.XChannel
) -> None:
    channel.send(post("Said before"))
    fake.then(x_api.passthrough(), x_api.empty_timeline(), x_api.passthrough(), x_api.empty_timeline())

    error = send_failing(channel, retry(post("Said before")))

    assert type(error) is PermanentFailure and str(error).startswith("duplicate post refused by X (403)")
    assert x_api.DUPLICATE_DETAIL in str(error)
    assert [s.method for s in fake.seen[-2:]] == ["POST", "GET"]  # looked again before giving up
