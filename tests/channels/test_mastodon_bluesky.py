"""Mastodon through the real Mastodon.py and Bluesky through the real atproto SDK, into wire-level fakes."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
import requests
from pydantic import SecretStr

from distro.channels import bluesky, mastodon
from distro.channels.base import SocialOut
from distro.errors import ChannelFailure, PermanentFailure, RateLimited, TemporaryFailure
from distro.platforms import bluesky as bluesky_rules
from distro.platforms import mastodon as mastodon_rules
from distro.settings import BlueskySettings, MastodonSettings
from tests.fakes import bluesky_api, mastodon_api

WHEN = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def mastodon_channel(
    token: str = mastodon_api.TOKEN,
) -> tuple[mastodon.MastodonChannel, mastodon_api.FakeMastodon]:
    fake = mastodon_api.FakeMastodon()
    session = requests.Session()
    session.mount("https://", fake)
    settings = MastodonSettings(
        mode="api", instance_url=f"https://{mastodon_api.HOST}", access_token=SecretStr(token), timeout=7
    )
    return mastodon.MastodonChannel(settings, session=session), fake


def toot(key: str, text: str) -> SocialOut:
    return SocialOut(key, "mastodon", "main", mastodon_rules.build_body(text, language="en"))


def test_mastodon_posts_with_bearer_token_timeout_and_idempotency_key() -> None:
    channel, fake = mastodon_channel()
    receipt = channel.send(toot("social:1:mastodon:main", "Hello https://example.org/a #Security"))
    assert receipt.provider_id == fake.statuses[0]["id"]
    assert fake.seen[0].headers["Idempotency-Key"] == "social:1:mastodon:main"
    assert fake.seen[0].timeout == 7
    assert fake.statuses[0]["language"] == "en" and fake.statuses[0]["visibility"] == "public"


def test_mastodon_timeout_after_the_request_was_sent_does_not_post_twice() -> None:
    channel, fake = mastodon_channel()
    fake.then(requests.exceptions.ReadTimeout("read timed out"))
    message = toot("social:2:mastodon:main", "Once only")
    with pytest.raises(TemporaryFailure):
        channel.send(message)
    receipt = channel.send(message)  # the dispatcher's retry
    assert len(fake.statuses) == 1 and receipt.provider_id == fake.statuses[0]["id"]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (mastodon_api.too_many_requests("2099-01-01T00:00:00.000Z"), RateLimited),
        (mastodon_api.server_error(), TemporaryFailure),
    ],
)
def test_mastodon_errors_map_to_outcomes(reply: mastodon_api.Reply, error: type[Exception]) -> None:
    channel, fake = mastodon_channel()
    fake.then(reply)
    with pytest.raises(error) as raised:
        channel.send(toot("social:3:mastodon:main", "Hi"))
    if isinstance(raised.value, RateLimited):
        assert raised.value.retry_after and raised.value.retry_after > 3600


def test_mastodon_revoked_token_pauses_and_too_long_is_permanent() -> None:
    channel, _ = mastodon_channel(token="revoked-token-123")
    with pytest.raises(ChannelFailure) as down:
        channel.send(toot("k1", "Hi"))
    assert "revoked-token-123" not in str(down.value)
    channel, _ = mastodon_channel()
    with pytest.raises(PermanentFailure, match="character limit"):
        channel.send(toot("k2", "word " * 120))


def bluesky_channel(
    password: str = bluesky_api.APP_PASSWORD,
) -> tuple[bluesky.BlueskyChannel, bluesky_api.FakePDS]:
    fake = bluesky_api.FakePDS()
    settings = BlueskySettings(mode="api", handle=bluesky_api.HANDLE, app_password=SecretStr(password))
    return bluesky.BlueskyChannel(settings, transport=fake), fake


def test_bluesky_facets_use_utf8_byte_offsets() -> None:
    link = "https://meridian-review.example/a?utm_source=bluesky"
    text = f"Ünïcödé 🇺🇦 naïve — {link} #Security"
    record = bluesky_rules.build_body(text, created_at=WHEN, language="en")
    channel, fake = bluesky_channel()
    receipt = channel.send(SocialOut("social:1:bluesky:main", "bluesky", "main", record))
    assert receipt.provider_id.startswith(f"at://{bluesky_api.DID}/app.bsky.feed.post/")
    assert fake.facet_bytes == [link.encode(), b"#Security"]
    assert record["createdAt"] == "2026-11-25T09:30:00.000Z" and record["langs"] == ["en"]


def test_bluesky_retry_after_a_lost_answer_finds_the_first_record() -> None:
    channel, fake = bluesky_channel()
    fake.then(httpx.ReadTimeout("lost"))
    message = SocialOut(
        "social:2:bluesky:main", "bluesky", "main", bluesky_rules.build_body("Once", created_at=WHEN)
    )
    with pytest.raises(TemporaryFailure):
        channel.send(message)
    receipt = channel.send(message)
    assert len(fake.records) == 1 and receipt.detail == "already posted by an earlier try"


def test_bluesky_wrong_app_password_pauses_and_rate_limit_waits() -> None:
    channel, _ = bluesky_channel(password="wrong-pass-0000")
    with pytest.raises(ChannelFailure) as down:
        channel.send(SocialOut("k", "bluesky", "main", bluesky_rules.build_body("Hi", created_at=WHEN)))
    assert "wrong-pass-0000" not in str(down.value)
    channel, fake = bluesky_channel()
    fake.then(
        bluesky_api.error(429, "RateLimitExceeded", "Rate Limit Exceeded", {"ratelimit-reset": "4102444800"})
    )
    with pytest.raises(RateLimited) as limited:
        channel.send(SocialOut("k2", "bluesky", "main", bluesky_rules.build_body("Hi", created_at=WHEN)))
    assert limited.value.retry_after and limited.value.retry_after > 3600
