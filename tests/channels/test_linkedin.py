"""LinkedIn organisation pages through the real channel code into a wire-level fake of the Posts API.

The fake (tests/fakes/linkedin_api.py) checks the bearer token, the LinkedIn-Version and Rest.li headers,
the exact body of an organisation post, the 3,000-character commentary, duplicates and the refresh-token
grant, answers LinkedIn's error bodies, and keeps a commentary only up to its first unescaped reserved
character, as LinkedIn does. The accounts' side (stored tokens, refresh, health) is in
tests/test_social_tokens.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import time_machine
from pydantic import SecretStr

from distro.channels.base import SocialOut
from distro.channels.linkedin import LinkedInChannel
from distro.channels.tokens import AccountToken, RefreshingChannel
from distro.errors import ChannelFailure, PermanentFailure, RateLimited, TemporaryFailure
from distro.platforms import linkedin as rules
from distro.settings import LinkedInSettings
from tests.fakes import linkedin_api
from tests.fakes.linkedin_api import FakeLinkedIn, answer_lost, invalid_field, too_many_requests

LINK = "https://meridian-review.example/2026/11/sanctions/?utm_source=linkedin&utm_medium=social"
TEXT = "Sanctions (and what they change) for [small] firms: a *practical* guide_ #Geopolitics"


def settings_for(**changes: Any) -> LinkedInSettings:
    values: dict[str, Any] = {
        "mode": "api",
        "organization_id": linkedin_api.ORGANIZATION_ID,
        "client_id": linkedin_api.CLIENT_ID,
        "client_secret": SecretStr(linkedin_api.CLIENT_SECRET),
        "timeout": 6,
    }
    return LinkedInSettings(**(values | changes))


def channel(fake: FakeLinkedIn, token: str = linkedin_api.TOKEN, **changes: Any) -> LinkedInChannel:
    session = requests.Session()
    session.mount("https://", fake)
    token_of = AccountToken(token, None, linkedin_api.REFRESH_TOKEN)
    return LinkedInChannel(settings_for(**changes), token_of, session=session)


def post(key: str = "social:1:linkedin:page", text: str = TEXT, attempt: int = 1, **card: str) -> SocialOut:
    body = rules.build_body(
        text, organization_id=linkedin_api.ORGANIZATION_ID, link=LINK, title="Sanctions", **card
    )
    return SocialOut(key, "linkedin", "page", body, attempt=attempt)


def test_a_post_goes_out_with_the_version_headers_and_its_urn_comes_back(
    clock: time_machine.Traveller,
) -> None:
    fake = FakeLinkedIn()
    receipt = channel(fake).send(post())
    assert receipt.provider_id == fake.posts[0]["id"] and receipt.provider_id.startswith("urn:li:share:")
    sent = fake.seen[0]
    assert sent.headers["Authorization"] == f"Bearer {linkedin_api.TOKEN}"
    assert (
        sent.headers["LinkedIn-Version"] == "202607" and sent.headers["X-Restli-Protocol-Version"] == "2.0.0"
    )
    assert sent.timeout == 6 and sent.json() == post().body
    # Escaped, the whole text arrived; unescaped, LinkedIn would have kept "Sanctions " only.
    assert rules.unescape(fake.posts[0]["commentary"]) == TEXT
    assert linkedin_api.stored_commentary(TEXT) == "Sanctions "
    assert fake.posts[0]["content"]["article"] == {"source": LINK, "title": "Sanctions"}


def test_a_retry_after_a_lost_answer_finds_the_post_and_never_posts_twice(
    clock: time_machine.Traveller,
) -> None:
    fake = FakeLinkedIn().then(answer_lost())
    sender = channel(fake)
    with pytest.raises(TemporaryFailure, match="did not answer"):
        sender.send(post())
    receipt = sender.send(post(attempt=2))
    assert len(fake.posts) == 1 and receipt.provider_id == fake.posts[0]["id"]
    finder = fake.seen[-1]
    assert finder.method == "GET" and finder.headers["X-RestLi-Method"] == "FINDER"
    assert "q=author" in finder.url and "author=urn%3Ali%3Aorganization%3A2414183" in finder.url


def test_a_duplicate_refusal_on_a_retry_names_the_first_post(clock: time_machine.Traveller) -> None:
    fake = FakeLinkedIn()
    first = channel(fake).send(post())
    fake.then(linkedin_api.Reply(200, {"elements": [], "paging": {}}))  # the listing lags behind
    again = channel(fake).send(post(attempt=2))
    assert again.provider_id == first.provider_id and len(fake.posts) == 1
    with pytest.raises(PermanentFailure, match="duplicate"):
        channel(fake).send(post())  # a first try that repeats a post is refused, not hidden


@pytest.mark.parametrize(
    ("reply", "error", "words"),
    [
        (
            linkedin_api.error(401, "Invalid access token", "INVALID_ACCESS_TOKEN", 65600),
            ChannelFailure,
            "401",
        ),
        (linkedin_api.error(403, "Not enough permissions", "ACCESS_DENIED"), ChannelFailure, "administrator"),
        (too_many_requests(), RateLimited, "rate limit"),
        (invalid_field("/content/article/title", "is too long"), PermanentFailure, "/content/article/title"),
        (
            linkedin_api.error(500, "Internal error", "INTERNAL_SERVER_ERROR"),
            TemporaryFailure,
            "worth retrying",
        ),
    ],
)
def test_linkedin_errors_map_to_outcomes(
    clock: time_machine.Traveller, reply: linkedin_api.Reply, error: type[Exception], words: str
) -> None:
    fake = FakeLinkedIn().then(reply)
    with pytest.raises(error, match=words):
        channel(fake).send(post())


def test_a_rate_limit_pauses_the_account_until_linkedins_day_resets(clock: time_machine.Traveller) -> None:
    with pytest.raises(RateLimited) as limited:
        channel(FakeLinkedIn().then(too_many_requests())).send(post())
    assert limited.value.pause_account and limited.value.retry_after == 12 * 3600  # FRIDAY is 12:00 UTC
    with pytest.raises(RateLimited) as hinted:
        channel(FakeLinkedIn().then(too_many_requests({"Retry-After": "90"}))).send(post())
    assert hinted.value.retry_after == 90


def test_a_wrong_token_version_or_body_is_refused_as_linkedin_does(clock: time_machine.Traveller) -> None:
    fake = FakeLinkedIn()
    with pytest.raises(ChannelFailure, match="401") as down:
        channel(fake, "revoked-linkedin-token").send(post())
    assert "revoked-linkedin-token" not in str(down.value)
    with pytest.raises(ChannelFailure, match="linkedin.linkedin_version"):
        channel(fake, linkedin_version="202301").send(post())
    too_long = SocialOut("k", "linkedin", "page", {**post().body, "commentary": "a" * 3001})
    with pytest.raises(PermanentFailure, match="limit is 3000"):
        channel(fake).send(too_long)
    other_page = SocialOut("k2", "linkedin", "page", {**post().body, "author": "urn:li:organization:1"})
    with pytest.raises(PermanentFailure, match="not this account's"):
        channel(fake).send(other_page)
    assert fake.posts == [] and all(s.method == "POST" for s in fake.seen[:2])
    refused = fake._answer(  # the fake itself names the field of a malformed body
        linkedin_api.Seen(
            "POST",
            "https://api.linkedin.com/rest/posts",
            {
                "Authorization": f"Bearer {linkedin_api.TOKEN}",
                "LinkedIn-Version": "202607",
                "X-Restli-Protocol-Version": "2.0.0",
                "Content-Type": "application/json",
            },
            b'{"author": "urn:li:organization:2414183", "commentary": "x", "visibility": "CONNECTIONS"}',
            None,
        )
    )
    assert isinstance(refused, linkedin_api.Reply) and refused.status == 422
    assert refused.body["errorDetails"]["inputErrors"][0]["input"]["inputPath"]["fieldPath"] == "/visibility"


def test_the_refresh_trades_the_refresh_token_and_keeps_its_first_end(clock: time_machine.Traveller) -> None:
    fake, saved, refused = FakeLinkedIn(age_days=57), [], []
    now = datetime.now(UTC)
    sender = channel(fake)
    sender.token = AccountToken(linkedin_api.TOKEN, now + timedelta(days=3), linkedin_api.REFRESH_TOKEN)
    refreshing = RefreshingChannel(
        sender,
        refresh_before=timedelta(days=7),
        save=saved.append,
        refused=print,
        reauth="distro auth linkedin",
    )
    refreshing.send(post())
    grant = next(s for s in fake.seen if "oauth/v2/accessToken" in s.url)
    assert b"grant_type=refresh_token" in grant.body and linkedin_api.CLIENT_SECRET not in grant.url
    assert [(t.expires_at, t.refresh_expires_at) for t in saved] == [
        (now + timedelta(days=60), now + timedelta(days=308))  # the refresh token is not extended
    ]
    assert fake.seen[-1].headers["Authorization"] == f"Bearer {saved[0].access_token}" and refused == []


def test_without_a_refresh_token_or_client_the_refresh_is_refused_by_name(
    clock: time_machine.Traveller,
) -> None:
    sender = channel(FakeLinkedIn())
    sender.token = AccountToken(linkedin_api.TOKEN, None)
    with pytest.raises(PermanentFailure, match="no refresh token"):
        sender.refresh()
    with pytest.raises(PermanentFailure, match="DISTRO_LINKEDIN__CLIENT_SECRET"):
        channel(FakeLinkedIn(), client_secret=None).refresh()
    with pytest.raises(PermanentFailure, match="invalid_client|Client authentication"):
        channel(FakeLinkedIn(), client_secret=SecretStr("wrong")).refresh()
