"""X images with alt text and reply threads, through the real tweepy, requests-oauthlib and oauthlib code.

The image comes from a real HTTP server on 127.0.0.1 through the fetcher the composition root wires (its
loopback address allowed explicitly; refused by default); X is faked at the transport and verifies every
OAuth 1.0a signature, the upload, the alt text and the media ids.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from distro.accounts import configured_accounts
from distro.app import App, image_fetcher, make_channel
from distro.channels import x
from distro.channels.base import Image, SocialOut
from distro.compose.social import plan_account, x_media, x_thread
from distro.db import session_scope
from distro.errors import TemporaryFailure
from distro.models import Article, SocialPost, utcnow
from distro.outbox import Claimed
from distro.platforms.x import LIMIT, MAX_IMAGE_BYTES, build_body, length
from distro.services.messages import MessageBuilder
from distro.settings import Settings
from tests.channels.test_x import make_settings
from tests.fakes import x_api
from tests.fakes.http_server import FakeHTTPServer, endless, http_server
from tests.fakes.x_api import FakeXAPI

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048
TITLE = "Sanctions, explained"


@pytest.fixture
def server() -> Iterator[FakeHTTPServer]:
    with http_server() as running:
        running.route("/og.png", body=PNG, headers={"Content-Type": "image/png"})
        yield running


@pytest.fixture
def fake() -> FakeXAPI:
    return FakeXAPI()


def connect(fake: FakeXAPI, *, allow_private_images: bool = True) -> x.XChannel:
    settings = make_settings()
    client = x.make_client(settings)
    client.session.mount("https://", fake)
    fetch_image = image_fetcher(
        timeout=settings.timeout, max_bytes=MAX_IMAGE_BYTES, allow_private_addresses=allow_private_images
    )
    return x.XChannel(settings, client=client, fetch_image=fetch_image)


def post(image_url: str | None = None, thread: tuple[str, ...] = (), attempt: int = 1) -> SocialOut:
    body = build_body(f"{TITLE} https://example.com/news/sanctions")
    return SocialOut(
        "article-1:x:main",
        "x",
        "main",
        body,
        attempt=attempt,
        image_url=image_url,
        alt_text=TITLE,
        thread=thread,
    )


def test_image_is_uploaded_with_alt_text_and_attached(fake: FakeXAPI, server: FakeHTTPServer) -> None:
    receipt = connect(fake).send(post(server.url("/og.png")))

    [(media_id, media)] = fake.media.items()
    assert media == {"bytes": PNG, "category": "tweet_image", "alt_text": TITLE}
    assert fake.tweets == [
        {"text": post().body["text"], "media": {"media_ids": [media_id]}, "id": receipt.provider_id}
    ]
    paths = [(s.url, s.status) for s in fake.seen]
    assert paths == [
        (x.MEDIA_UPLOAD_URL, 200),
        (x.MEDIA_METADATA_URL, 200),
        ("https://api.twitter.com/2/tweets", 201),
    ]
    assert all(s.headers["Authorization"].startswith("OAuth ") for s in fake.seen)


@pytest.mark.parametrize(
    "path, reason",
    [("/missing.png", "404"), ("/huge.png", "5242880")],
)
def test_unreachable_image_posts_without_media(
    fake: FakeXAPI, server: FakeHTTPServer, caplog: pytest.LogCaptureFixture, path: str, reason: str
) -> None:
    server.route("/huge.png", body=endless(b"\x00" * 65536), headers={"Content-Type": "image/png"})
    with caplog.at_level(logging.WARNING, logger="distro.channels.x"):
        receipt = connect(fake).send(post(server.url(path)))
    assert fake.tweets == [{"text": post().body["text"], "id": receipt.provider_id}]
    assert fake.media == {}
    assert "without its image" in caplog.text and reason in caplog.text


def test_private_image_address_is_refused_by_default(
    fake: FakeXAPI, server: FakeHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="distro.channels.x"):
        connect(fake, allow_private_images=False).send(post(server.url("/og.png")))
    assert server.requests == []
    assert fake.media == {} and len(fake.tweets) == 1
    assert "without its image" in caplog.text


def test_the_wired_x_channel_fetches_through_the_source_fetcher(
    settings: Settings, fake: FakeXAPI, server: FakeHTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings.x.mode = "api"
    for field in ("api_key", "api_secret", "access_token", "access_token_secret"):
        setattr(settings.x, field, getattr(make_settings(), field))
    channel = make_channel(settings, "x")
    assert isinstance(channel, x.XChannel)
    channel.client.session.mount("https://", fake)
    with caplog.at_level(logging.WARNING, logger="distro.channels.x"):
        channel.send(post(server.url("/og.png")))
    assert server.requests == [] and len(fake.tweets) == 1  # loopback refused, as for any source
    assert "without its image" in caplog.text and "no image fetcher" not in caplog.text


def test_a_channel_without_a_fetcher_posts_without_the_image(
    fake: FakeXAPI, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings()
    client = x.make_client(settings)
    client.session.mount("https://", fake)
    with caplog.at_level(logging.WARNING, logger="distro.channels.x"):
        x.XChannel(settings, client=client).send(post("https://example.com/og.png"))
    assert fake.media == {} and len(fake.tweets) == 1
    assert "no image fetcher" in caplog.text


def test_an_injected_fetcher_is_all_the_channel_needs(fake: FakeXAPI) -> None:
    seen: list[str] = []

    def fetch_image(url: str) -> Image:
        seen.append(url)
        return Image(PNG, "image/png; charset=binary")

    settings = make_settings()
    client = x.make_client(settings)
    client.session.mount("https://", fake)
    x.XChannel(settings, client=client, fetch_image=fetch_image).send(post("https://example.com/og.png"))
    assert seen == ["https://example.com/og.png"]
    assert [m["bytes"] for m in fake.media.values()] == [PNG]


def test_thread_replies_chain_under_the_first_tweet(fake: FakeXAPI) -> None:
    receipt = connect(fake).send(post(thread=("First part of the summary.", "Second part.")))
    first, second, third = fake.tweets
    assert receipt.provider_id == first["id"]
    assert second["reply"] == {"in_reply_to_tweet_id": first["id"]}
    assert third["reply"] == {"in_reply_to_tweet_id": second["id"]}
    assert [t["text"] for t in (second, third)] == ["First part of the summary.", "Second part."]


def test_thread_failing_midway_continues_after_the_last_posted_part(fake: FakeXAPI) -> None:
    message = post(thread=("First part.", "Second part.", "Third part."))
    fake.then(x_api.passthrough(), x_api.passthrough(), x_api.server_error(503))
    channel = connect(fake)
    with pytest.raises(TemporaryFailure):
        channel.send(message)
    assert len(fake.tweets) == 2

    retry = SocialOut(**{**{f: getattr(message, f) for f in message.__slots__}, "attempt": 2})
    receipt = channel.send(retry)
    texts = [t["text"] for t in fake.tweets]
    assert texts == [message.body["text"], "First part.", "Second part.", "Third part."]
    assert fake.tweets[3]["reply"] == {"in_reply_to_tweet_id": fake.tweets[2]["id"]}
    assert receipt.provider_id == fake.tweets[0]["id"]

    again = channel.send(retry)  # a third try finds the whole thread and posts nothing
    assert again.provider_id == fake.tweets[0]["id"] and len(fake.tweets) == 4


def article(summary: str, image_url: str | None = "https://example.com/og.png") -> Article:
    return Article(
        id=7,
        url="https://example.com/news/sanctions",
        title=TITLE,
        summary=summary,
        section="Economy",
        image_url=image_url,
        guid="g7",
        published_at=utcnow(),
        first_seen_at=utcnow(),
    )


LONG = " ".join(f"word{n}" for n in range(150))  # about 1000 characters


def test_x_thread_splits_at_word_boundaries(app: App) -> None:
    app.settings.x.thread = True
    parts = x_thread(article(LONG), TITLE, app.settings)
    assert len(parts) > 2
    assert all(length(p) <= LIMIT for p in parts)
    assert " ".join(parts) == LONG
    assert x_thread(article("Short."), f"{TITLE}\n\nShort.", app.settings) == ()
    app.settings.x.thread = False
    assert x_thread(article(LONG), TITLE, app.settings) == ()


def test_plan_and_message_carry_thread_and_image(app: App) -> None:
    app.settings.x.thread = True
    app.settings.x.media = True
    account = next(a for a in configured_accounts(app.settings) if a.platform == "x")
    planned = plan_account(app.templates, article(LONG), account, app.settings, utcnow())
    assert planned is not None
    assert planned.body == {"text": planned.text}  # file mode writes exactly this: no media id, no thread
    assert planned.text.startswith(TITLE) and "word0" not in planned.text
    assert x_media(article(LONG), app.settings) == ("https://example.com/og.png", TITLE)

    with session_scope(app.engine) as session:
        stored = article(LONG)
        stored.id = None
        session.add(stored)
        session.flush()
        row = SocialPost(
            article_id=stored.id or 0, platform="x", account="main", text=planned.text, body=planned.body
        )
        session.add(row)
        session.flush()
        post_id = row.id
    claimed = Claimed(1, "a:x:main", "x", "main", None, None, post_id, 1, utcnow())
    [message] = MessageBuilder(app)([claimed]).values()
    assert message.body == planned.body
    assert message.image_url == "https://example.com/og.png" and message.alt_text == TITLE
    assert " ".join(message.thread) == LONG
