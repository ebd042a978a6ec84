"""FacebookChannel through the real requests-oauthlib OAuth2Session, with Graph faked at the transport."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from requests_oauthlib import OAuth2Session

from distro.channels import facebook
from distro.channels.base import SocialOut
from distro.errors import (
    ChannelFailure,
    ConfigError,
    DeliveryError,
    PermanentFailure,
    RateLimited,
    TemporaryFailure,
)
from distro.platforms.facebook import build_body, build_photo_body
from distro.settings import FacebookSettings
from tests.fakes import graph_api
from tests.fakes.graph_api import FakeGraphAPI

SECRETS = (graph_api.PAGE_TOKEN, graph_api.APP_SECRET)
TIMEOUT = 9.0
LINK = "https://meridian-review.example/2025/07/sanctions-explained/?utm_source=facebook"


def make_settings(**overrides: Any) -> FacebookSettings:
    values: dict[str, Any] = {
        "mode": "api",
        "page_id": graph_api.PAGE_ID,
        "graph_version": graph_api.GRAPH_VERSION,
        "page_access_token": graph_api.PAGE_TOKEN,
        "app_secret": graph_api.APP_SECRET,
        "timeout": TIMEOUT,
    }
    values.update(overrides)
    return FacebookSettings(**values)


def connect(fake: FakeGraphAPI, settings: FacebookSettings | None = None) -> facebook.FacebookChannel:
    session = OAuth2Session()
    session.mount("https://", fake)
    return facebook.FacebookChannel(settings or make_settings(), session=session)


def post(message: str = "Sanctions, explained: what changes on Monday", link: str | None = LINK) -> SocialOut:
    return SocialOut(
        key="article-1:facebook:page",
        platform="facebook",
        account=graph_api.PAGE_ID,
        body=build_body(message, link),
    )


def send_failing(channel: facebook.FacebookChannel, message: SocialOut | None = None) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        channel.send(message or post())
    text = f"{caught.value} {caught.value!r}"
    for secret in SECRETS:
        assert secret not in text
    return caught.value


@pytest.fixture
def fake() -> FakeGraphAPI:
    return FakeGraphAPI()


@pytest.fixture
def channel(fake: FakeGraphAPI) -> Iterator[facebook.FacebookChannel]:
    channel = connect(fake)
    yield channel
    channel.close()


# --- the body and a successful post -----------------------------------------------------------------------

BODIES = [
    pytest.param("Read this", LINK, {"message": "Read this", "link": LINK}, id="with-link"),
    pytest.param("Just words", None, {"message": "Just words"}, id="without-link"),
]


@pytest.mark.parametrize(("message", "link", "expected"), BODIES)
def test_post_returns_post_id_and_graph_receives_exactly_build_body(
    channel: facebook.FacebookChannel,
    fake: FakeGraphAPI,
    message: str,
    link: str | None,
    expected: dict[str, Any],
) -> None:
    receipt = channel.send(post(message, link))

    assert receipt.provider_id == f"{graph_api.PAGE_ID}_1"
    sent = fake.seen[-1]
    assert sent.status == 200
    feed = f"https://graph.facebook.com/{graph_api.GRAPH_VERSION}/{graph_api.PAGE_ID}/feed"
    assert sent.url.startswith(feed + "?")
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Authorization"] == f"Bearer {graph_api.PAGE_TOKEN}"
    assert json.loads(sent.body) == expected
    proof = graph_api.appsecret_proof(graph_api.APP_SECRET, graph_api.PAGE_TOKEN)
    assert sent.query == {"appsecret_proof": proof}
    assert sent.timeout == TIMEOUT
    assert fake.posts == [expected]


def test_without_an_app_secret_no_proof_is_sent(fake: FakeGraphAPI) -> None:
    fake = FakeGraphAPI(app_secret=None)
    channel = connect(fake, make_settings(app_secret=None))

    assert channel.send(post()).provider_id == f"{graph_api.PAGE_ID}_1"
    assert fake.seen[-1].query == {}


def test_an_injected_session_gets_the_page_token_from_settings(fake: FakeGraphAPI) -> None:
    session = OAuth2Session(token={"access_token": "someone-elses-token", "token_type": "Bearer"})
    session.mount("https://", fake)

    facebook.FacebookChannel(make_settings(), session=session).send(post())

    assert fake.seen[-1].headers["Authorization"] == f"Bearer {graph_api.PAGE_TOKEN}"


def test_body_not_made_by_build_body_is_refused_before_sending(
    channel: facebook.FacebookChannel, fake: FakeGraphAPI
) -> None:
    odd = SocialOut(key="k", platform="facebook", account="p", body={"message": "hi", "published": False})

    error = send_failing(channel, odd)

    assert isinstance(error, PermanentFailure) and "build_body" in str(error)
    assert fake.seen == []


# --- the fake really checks the token, the proof and the fields -------------------------------------------

REJECTED = [
    pytest.param({"page_access_token": "EAAGwrongwrongwrong"}, "code 190", "re-authorise", id="wrong-token"),
    pytest.param({"app_secret": "not-the-secret"}, "code 100", "Invalid appsecret_proof", id="wrong-proof"),
    pytest.param({"app_secret": None}, "code 100", "require an appsecret_proof", id="missing-proof"),
    pytest.param({"page_id": "42"}, "code 803", "do not exist: 42", id="wrong-page"),
]


@pytest.mark.parametrize(("overrides", "code", "fragment"), REJECTED)
def test_the_fake_rejects_bad_credentials_and_they_are_permanent(
    fake: FakeGraphAPI, overrides: dict[str, Any], code: str, fragment: str
) -> None:
    channel = connect(fake, make_settings(**overrides))

    error = send_failing(channel)

    # A bad token stops the whole channel (ChannelFailure keeps the post queued); the rest fail the post.
    assert type(error) is (ChannelFailure if code == "code 190" else PermanentFailure)
    assert code in str(error) and fragment in str(error)
    assert fake.posts == []
    for name in ("page_access_token", "app_secret"):
        if overrides.get(name):
            assert overrides[name] not in str(error)


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        pytest.param(post("x" * (graph_api.MAX_MESSAGE + 1)), "at most 63206 characters", id="too-long"),
        pytest.param(post("Read", "ftp://files.example/a"), "link must be a valid URL", id="bad-link"),
    ],
)
def test_graph_field_errors_surface_with_the_api_message(
    channel: facebook.FacebookChannel, message: SocialOut, fragment: str
) -> None:
    error = send_failing(channel, message)

    assert type(error) is PermanentFailure and fragment in str(error)


def test_a_repeated_message_on_a_first_try_is_a_permanent_duplicate(
    channel: facebook.FacebookChannel, fake: FakeGraphAPI
) -> None:
    channel.send(post("Same words"))

    error = send_failing(channel, post("Same words"))

    assert type(error) is PermanentFailure and str(error).startswith("duplicate")
    assert "code 506" in str(error)
    assert [s.method for s in fake.seen] == ["POST", "POST"]  # a first try never reads the feed


# --- error mapping ----------------------------------------------------------------------------------------

ERRORS = [
    pytest.param(graph_api.token_expired(), ChannelFailure, "code 190/463", id="190-expired"),
    pytest.param(graph_api.duplicate(), PermanentFailure, "duplicate post refused", id="506-duplicate"),
    pytest.param(
        graph_api.graph_error(
            200, "(#200) The permission(s) pages_manage_posts are not available", status=403
        ),
        PermanentFailure,
        "pages_manage_posts",
        id="403-permission",
    ),
    pytest.param(graph_api.unexpected(500, 2), TemporaryFailure, "HTTP 500, code 2", id="500-code-2"),
    pytest.param(
        graph_api.graph_error(1, "An unknown error occurred"), TemporaryFailure, "code 1", id="400-code-1"
    ),
    pytest.param(graph_api.Reply(502, {}), TemporaryFailure, "HTTP 502", id="502-no-graph-body"),
    pytest.param(graph_api.read_timeout(), TemporaryFailure, f"within {TIMEOUT:g}s", id="timeout"),
    pytest.param(graph_api.connection_error(), TemporaryFailure, "could not reach", id="connection"),
]


@pytest.mark.parametrize(("outcome", "expected", "fragment"), ERRORS)
def test_error_mapping(
    channel: facebook.FacebookChannel,
    fake: FakeGraphAPI,
    outcome: Any,
    expected: type[DeliveryError],
    fragment: str,
) -> None:
    fake.then(outcome)

    error = send_failing(channel)

    assert type(error) is expected
    assert fragment in str(error)


def test_a_368_block_pauses_the_account_for_an_hour_and_is_retried_not_failed(
    channel: facebook.FacebookChannel, fake: FakeGraphAPI
) -> None:
    fake.then(graph_api.policy_blocked())

    error = send_failing(channel)

    assert type(error) is RateLimited  # temporary: the post stays queued, unlike a PermanentFailure
    assert error.pause_account and error.retry_after == facebook.BLOCK_RETRY_AFTER == 3600
    assert "code 368/1390008" in str(error) and "going too fast" in str(error)
    assert "We limit how often you can post" in str(error)  # the user-facing explanation too
    assert fake.posts == []


def test_the_368_body_is_graphs() -> None:
    body = graph_api.policy_blocked().body

    assert sorted(body["error"]) == sorted(
        ["message", "type", "code", "error_subcode", "is_transient", "error_user_title", "error_user_msg"]
        + ["fbtrace_id"]
    )
    assert (body["error"]["type"], body["error"]["code"], body["error"]["error_subcode"]) == (
        "OAuthException",
        368,
        1390008,
    )


def test_a_368_with_a_longer_regain_estimate_waits_for_it(
    channel: facebook.FacebookChannel, fake: FakeGraphAPI
) -> None:
    blocked = graph_api.policy_blocked()
    fake.then(
        graph_api.Reply(
            blocked.status, blocked.body, graph_api.business_use_case_usage(graph_api.PAGE_ID, 90)
        )
    )

    error = send_failing(channel)

    assert isinstance(error, RateLimited) and error.pause_account and error.retry_after == 90 * 60


def test_a_token_echoed_by_graph_is_redacted(channel: facebook.FacebookChannel, fake: FakeGraphAPI) -> None:
    fake.then(graph_api.graph_error(190, f"Malformed access token {graph_api.PAGE_TOKEN}"))

    error = send_failing(channel)  # asserts no secret in the message

    assert "Malformed access token [redacted]" in str(error)


RATE_LIMITS = [
    pytest.param(graph_api.rate_limited(4, status=403, regain_minutes=7), 420, id="4-app-with-usage"),
    pytest.param(graph_api.rate_limited(17, status=403), facebook.DEFAULT_RETRY_AFTER, id="17-no-header"),
    pytest.param(graph_api.rate_limited(32, regain_minutes=12), 720, id="32-page"),
    pytest.param(graph_api.rate_limited(613, regain_minutes=0), facebook.DEFAULT_RETRY_AFTER, id="613-zero"),
    pytest.param(graph_api.rate_limited(80001, regain_minutes=5), 300, id="80001-page-buc"),
    pytest.param(
        graph_api.graph_error(
            32,
            "(#32) Page request limit reached",
            headers={
                "X-Page-Usage": json.dumps(
                    {"call_count": 100, "total_time": 20, "estimated_time_to_regain_access": 3}
                )
            },
        ),
        180,
        id="32-page-usage-header",
    ),
]


@pytest.mark.parametrize(("outcome", "seconds"), RATE_LIMITS)
def test_throttling_codes_pause_the_account_for_the_regain_time(
    channel: facebook.FacebookChannel, fake: FakeGraphAPI, outcome: graph_api.Reply, seconds: float
) -> None:
    fake.then(outcome)

    error = send_failing(channel)

    assert type(error) is RateLimited
    assert (error.retry_after, error.pause_account) == (seconds, True)
    assert "the account pauses" in str(error)


class Clock:
    """Seconds shared by the fake and the test, moved on by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("code", "first_pause"), [(32, 12 * 60), (4, 12 * 60), (368, 3600)])
def test_a_throttled_page_is_refused_until_access_returns(code: int, first_pause: float) -> None:
    clock = Clock(1_800_000_000)
    fake = FakeGraphAPI(clock=clock).throttle(code, minutes=12)
    channel = connect(fake)

    error = send_failing(channel)
    clock.now += 11 * 60 + 30
    still = send_failing(channel, post("Thirty seconds too early"))
    clock.now += 30
    receipt = channel.send(post("After the wait"))

    assert isinstance(error, RateLimited) and error.pause_account and error.retry_after == first_pause
    assert isinstance(still, RateLimited) and still.pause_account
    assert still.retry_after == (60 if code != 368 else 3600)  # Graph's estimate is in whole minutes
    assert [s.status for s in fake.seen] == [400, 400, 200]
    assert [p["message"] for p in fake.posts] == ["After the wait"]
    assert receipt.provider_id == fake.post_ids[0]


# --- configuration and secrecy ----------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, ""])
def test_a_missing_page_token_is_a_config_error_naming_the_variable(token: str | None) -> None:
    with pytest.raises(ConfigError, match="DISTRO_FACEBOOK__PAGE_ACCESS_TOKEN"):
        facebook.FacebookChannel(make_settings(page_access_token=token))


def test_credentials_never_reach_the_debug_log(fake: FakeGraphAPI, caplog: pytest.LogCaptureFixture) -> None:
    for name in ("requests_oauthlib", "oauthlib"):
        logging.getLogger(name).setLevel(logging.NOTSET)  # as a fresh process has them
    channel = connect(fake)
    caplog.set_level(logging.DEBUG)

    channel.send(post())
    fake.then(graph_api.token_expired())
    send_failing(channel, post("another"))

    for secret in SECRETS:
        assert secret not in caplog.text


# --- no double posts after an uncertain outcome -----------------------------------------------------------


def retry(message: SocialOut) -> SocialOut:
    return SocialOut(message.key, message.platform, message.account, message.body, attempt=2)


def test_a_lost_answer_is_found_among_the_pages_posts_on_the_retry(
    fake: FakeGraphAPI, channel: facebook.FacebookChannel
) -> None:
    message = post()
    fake.then(graph_api.answer_lost())

    error = send_failing(channel, message)
    receipt = channel.send(retry(message))

    assert type(error) is TemporaryFailure
    assert len(fake.posts) == 1  # published once, not twice
    assert receipt.provider_id == fake.post_ids[0] and "already posted" in receipt.detail
    feed = fake.seen[-1]
    assert feed.method == "GET" and feed.query["fields"] == "message,link,created_time"
    assert feed.query["appsecret_proof"] == graph_api.appsecret_proof(
        graph_api.APP_SECRET, graph_api.PAGE_TOKEN
    )
    assert graph_api.PAGE_TOKEN not in feed.url


def test_a_retry_publishes_when_the_earlier_try_never_arrived(
    fake: FakeGraphAPI, channel: facebook.FacebookChannel
) -> None:
    channel.send(post("An older post of the Page"))
    fake.then(graph_api.read_timeout())
    send_failing(channel)

    receipt = channel.send(retry(post()))

    assert [p["message"] for p in fake.posts] == ["An older post of the Page", post().body["message"]]
    assert receipt.provider_id == fake.post_ids[-1] and receipt.detail == ""


def test_a_failing_look_at_the_feed_does_not_publish_blindly(
    fake: FakeGraphAPI, channel: facebook.FacebookChannel
) -> None:
    fake.then(graph_api.token_expired())

    error = send_failing(channel, retry(post()))

    assert type(error) is ChannelFailure
    assert fake.posts == []


@pytest.mark.parametrize(
    ("header", "value", "pause"),
    [
        (
            "X-App-Usage",
            '{"call_count": 93, "total_cputime": 10, "total_time": 12}',
            facebook.SLOW_DOWN_SECONDS,
        ),
        (
            "X-Business-Use-Case-Usage",
            json.dumps(
                {
                    graph_api.PAGE_ID: [
                        {
                            "type": "pages",
                            "call_count": 40,
                            "total_cputime": 100,
                            "total_time": 60,
                            "estimated_time_to_regain_access": 7,
                        }
                    ]
                }
            ),
            7 * 60,
        ),
    ],
)
def test_high_usage_pauses_posting_before_the_limit_is_hit(
    channel: facebook.FacebookChannel, fake: FakeGraphAPI, header: str, value: str, pause: float
) -> None:
    fake.then(graph_api.Reply(200, {"id": f"{graph_api.PAGE_ID}_1"}, {header: value}))
    assert channel.send(post()).provider_id == f"{graph_api.PAGE_ID}_1"
    requests_before = len(fake.seen)
    with pytest.raises(RateLimited) as caught:
        channel.send(post("Another story"))
    assert len(fake.seen) == requests_before  # nothing was sent while usage is high
    assert caught.value.retry_after is not None and pause - 5 < caught.value.retry_after <= pause
    assert caught.value.pause_account  # the usage is the Page's or the app's, so every post would wait


def test_ordinary_usage_does_not_slow_posting(channel: facebook.FacebookChannel, fake: FakeGraphAPI) -> None:
    fake.then(graph_api.Reply(200, {"id": f"{graph_api.PAGE_ID}_1"}, {"X-App-Usage": '{"call_count": 40}'}))
    channel.send(post())
    assert channel.send(post("Another story")).provider_id


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(post(), id="feed"),
        pytest.param(
            SocialOut(
                key="article-1:facebook:page",
                platform="facebook",
                account=graph_api.PAGE_ID,
                body=build_photo_body("Sanctions, in one chart", "https://example.com/chart.png"),
            ),
            id="photo",
        ),
    ],
)
def test_a_506_on_a_retry_is_the_lost_post_when_the_feed_lagged(
    fake: FakeGraphAPI, channel: facebook.FacebookChannel, message: SocialOut
) -> None:
    fake.then(graph_api.answer_lost())
    send_failing(channel, message)
    fake.then(graph_api.empty_feed())  # the retry's first read runs before the feed shows the new post

    receipt = channel.send(retry(message))

    assert len(fake.posts) == 1  # published once; the second POST met Graph's own duplicate check
    assert receipt.provider_id == fake.post_ids[0]
    assert receipt.detail.startswith("already posted") and "duplicate" in receipt.detail
    assert [(s.method, s.status) for s in fake.seen] == [
        ("POST", 200),
        ("GET", 200),
        ("POST", 400),
        ("GET", 200),
    ]


def test_a_506_on_a_retry_stays_permanent_when_the_post_is_not_found(
    fake: FakeGraphAPI, channel: facebook.FacebookChannel
) -> None:
    fake.then(graph_api.empty_feed(), graph_api.duplicate(), graph_api.empty_feed())

    error = send_failing(channel, retry(post()))

    assert type(error) is PermanentFailure and str(error).startswith("duplicate post refused by Facebook")
    assert "code 506" in str(error)
    assert [s.method for s in fake.seen] == ["GET", "POST", "GET"]  # read again before giving up
