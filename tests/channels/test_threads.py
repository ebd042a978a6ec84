"""Threads through the real channel code into a wire-level fake of graph.threads.net.

The fake (tests/fakes/threads_api.py) checks the token parameter, the version, the container -> publish
order, the 500-character and 5-link rules and the 250-posts window, and answers Graph's error bodies. The
token's refresh runs through :class:`~distro.channels.tokens.RefreshingChannel` with callbacks standing in
for the store (tests/test_social_tokens.py runs the real composition), at the pinned ``clock``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import time_machine

from distro.channels.base import SocialOut
from distro.channels.threads import ThreadsChannel
from distro.channels.tokens import AccountToken, RefreshingChannel
from distro.errors import ChannelFailure, PermanentFailure, RateLimited, TemporaryFailure
from distro.platforms import threads as rules
from distro.settings import ThreadsSettings
from tests.fakes import threads_api
from tests.fakes.threads_api import FakeThreads, answer_lost, graph_error, token_param

LINK = "https://meridian-review.example/2026/11/sanctions/?utm_source=threads&utm_medium=social"
TEXT = f"Sanctions, explained\n\nWhat the new rules change.\n\n{LINK} #Geopolitics"


def channel(
    fake: FakeThreads, token: str = threads_api.TOKEN, *, ends: datetime | None = None
) -> ThreadsChannel:
    session = requests.Session()
    session.mount("https://", fake)
    settings = ThreadsSettings(mode="api", timeout=7)
    return ThreadsChannel(settings, AccountToken(token, ends, user_id=threads_api.USER_ID), session=session)


def post(key: str = "social:1:threads:main", text: str = TEXT, attempt: int = 1) -> SocialOut:
    return SocialOut(key, "threads", "main", rules.build_body(text, LINK), attempt=attempt)


def test_a_post_is_a_container_then_published_with_the_token_as_a_parameter(
    clock: time_machine.Traveller,
) -> None:
    fake = FakeThreads()
    receipt = channel(fake).send(post())
    assert [p.text for p in fake.posts] == [TEXT] and fake.posts[0].link == LINK
    assert receipt.provider_id == fake.posts[0].id
    calls = [(s.method, s.url.split("?")[0].rsplit("/", 1)[1]) for s in fake.seen]
    assert calls == [("GET", "threads_publishing_limit"), ("POST", "threads"), ("POST", "threads_publish")]
    assert all(token_param(s) == threads_api.TOKEN for s in fake.seen)
    assert all("Authorization" not in s.headers for s in fake.seen)
    assert all(s.timeout == 7 for s in fake.seen)
    assert all(threads_api.TOKEN not in s.url for s in fake.seen if s.method == "POST")  # in the body


def test_publishing_needs_the_container_first(clock: time_machine.Traveller) -> None:
    fake = FakeThreads().on("threads", threads_api.Reply(200, {"id": "17890000000000999"}))
    with pytest.raises(PermanentFailure, match="code 24/4279009"):
        channel(fake).send(post())
    assert fake.posts == []


def test_at_the_publishing_limit_the_account_pauses_until_the_window_frees(
    clock: time_machine.Traveller,
) -> None:
    fake = FakeThreads()
    for n in range(threads_api.QUOTA):
        fake.add_post(f"post {n}", hours_ago=20 - n * 0.05)  # the oldest 20 hours ago
    fake.add_post("outside the window", hours_ago=30)
    with pytest.raises(RateLimited) as limited:
        channel(fake).send(post())
    assert limited.value.pause_account
    assert limited.value.retry_after == pytest.approx(4 * 3600, abs=60)  # when the oldest leaves
    assert "250 of 250" in str(limited.value) and "2026-11-27" in str(limited.value)
    assert not fake.containers  # nothing was even prepared
    clock.shift(timedelta(hours=4, minutes=1))
    channel(fake).send(post())  # the window freed one slot
    assert fake.posts[-1].text == TEXT


def test_a_retry_after_a_lost_answer_finds_the_post_and_never_posts_twice(
    clock: time_machine.Traveller,
) -> None:
    fake = FakeThreads().on("threads_publish", answer_lost())
    sender = channel(fake)
    with pytest.raises(TemporaryFailure, match="did not answer"):
        sender.send(post())
    assert len(fake.posts) == 1  # published, answer lost
    receipt = sender.send(post(attempt=2))
    assert len(fake.posts) == 1 and receipt.provider_id == fake.posts[0].id
    assert "already posted" in receipt.detail
    assert len(fake.containers) == 1  # the retry made no second container
    other = sender.send(post("social:2:threads:main", "Another story", attempt=2))  # not there: posted
    assert len(fake.posts) == 2 and other.provider_id == fake.posts[1].id


@pytest.mark.parametrize(
    ("reply", "error", "words"),
    [
        (graph_error(4, "Application request limit reached"), RateLimited, "rate limit"),
        (
            graph_error(10, "Application does not have permission for this action"),
            ChannelFailure,
            "permission",
        ),
        (
            threads_api.Reply(500, {"error": {"message": "Please retry", "code": 2}}),
            TemporaryFailure,
            "retry",
        ),
        (graph_error(100, "Invalid parameter"), PermanentFailure, "Invalid parameter"),
    ],
)
def test_threads_errors_map_to_outcomes(
    clock: time_machine.Traveller, reply: threads_api.Reply, error: type[Exception], words: str
) -> None:
    fake = FakeThreads().on("threads", reply)
    with pytest.raises(error, match=words) as raised:
        channel(fake).send(post())
    if isinstance(raised.value, RateLimited):
        assert raised.value.pause_account


def test_a_revoked_token_pauses_the_account_and_a_bad_post_never_leaves(
    clock: time_machine.Traveller,
) -> None:
    fake = FakeThreads()
    with pytest.raises(ChannelFailure, match="code 190") as down:
        channel(fake, "revoked-threads-token-123").send(post())
    assert "revoked-threads-token-123" not in str(down.value)
    with pytest.raises(PermanentFailure, match="limit is 500"):
        channel(fake).send(post(text="😀" * 126))  # 504 as Threads counts emoji
    links = " ".join(f"https://a.example/{n}" for n in range(6))
    with pytest.raises(PermanentFailure, match="more than 5 links"):
        channel(fake).send(post(text=links))
    assert [s for s in fake.seen if s.method == "POST"] == []


# --- the refresh before a send (distro.channels.tokens), with the callbacks the composition root gives ---


class Account:
    """What the composition root does with a refreshed token and a refusal, kept for the test to read."""

    def __init__(self) -> None:
        self.saved: list[AccountToken] = []
        self.refused: list[str] = []

    def refreshing(self, sender: ThreadsChannel) -> RefreshingChannel:
        sender.name = "threads"
        return RefreshingChannel(
            sender,
            refresh_before=timedelta(days=7),
            save=self.saved.append,
            refused=self.refused.append,
            reauth="distro auth threads --account main",
        )


def test_a_token_ending_within_the_window_is_refreshed_before_the_send(clock: time_machine.Traveller) -> None:
    fake, account = FakeThreads(age_days=57), Account()
    sender = account.refreshing(channel(fake, ends=datetime.now(UTC) + timedelta(days=3)))
    sender.send(post())
    assert [t.expires_at for t in account.saved] == [datetime.now(UTC) + timedelta(days=60)]
    assert account.saved[0].user_id == threads_api.USER_ID and threads_api.TOKEN not in fake.tokens
    assert token_param(fake.seen[-1]) == account.saved[0].access_token  # the post went with the new one
    refresh = next(s for s in fake.seen if "refresh_access_token" in s.url)
    assert "grant_type=th_refresh_token" in refresh.url and "/v1.0/" not in refresh.url
    assert sender.ensure_fresh() is False  # 60 days left now: nothing to do


def test_a_refused_refresh_pauses_the_account_before_the_token_ends(clock: time_machine.Traveller) -> None:
    account = Account()
    sender = account.refreshing(
        channel(FakeThreads(), "forgotten-token-1", ends=datetime.now(UTC) + timedelta(days=3))
    )
    with pytest.raises(RateLimited) as paused:
        sender.send(post())
    assert paused.value.pause_account and paused.value.retry_after == 3600
    assert "the token ends 2026-11-30 12:00 UTC and refreshing it was refused" in str(paused.value)
    assert (
        account.refused == [str(paused.value)] and "distro auth threads --account main" in account.refused[0]
    )
    assert "forgotten-token-1" not in str(paused.value) and account.saved == []


def test_a_refresh_without_an_answer_pauses_briefly_without_marking_the_account(
    clock: time_machine.Traveller,
) -> None:
    fake, account = FakeThreads(age_days=57), Account()
    sender = account.refreshing(channel(fake, ends=datetime.now(UTC) + timedelta(days=3)))
    sender.inner.session.mount("https://graph.threads.net/refresh_access_token", Unreachable())
    with pytest.raises(RateLimited, match="refreshing it failed") as paused:
        sender.send(post())
    assert paused.value.retry_after == 900 and account.refused == [] and fake.posts == []


def test_an_ended_token_is_a_channel_failure(clock: time_machine.Traveller) -> None:
    sender = Account().refreshing(channel(FakeThreads(), ends=datetime.now(UTC) - timedelta(minutes=1)))
    with pytest.raises(ChannelFailure, match="expired at 2026-11-27 11:59 UTC"):
        sender.send(post())


class Unreachable(requests.adapters.BaseAdapter):
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        raise requests.exceptions.ConnectTimeout("no route")

    def close(self) -> None:
        return None
