"""Facebook photo posts: planned from the article's og:image, sent to ``/{page_id}/photos``, not doubled."""

from __future__ import annotations

import pytest
from requests_oauthlib import OAuth2Session

from distro.accounts import configured_accounts
from distro.app import App
from distro.channels import facebook
from distro.channels.base import SocialOut
from distro.compose.social import plan_account
from distro.errors import TemporaryFailure
from distro.models import Article, utcnow
from distro.platforms.facebook import build_photo_body
from distro.settings import FacebookSettings
from tests.fakes import graph_api
from tests.fakes.graph_api import FakeGraphAPI

IMAGE = "https://example.com/images/sanctions.jpg"


def article(image_url: str | None = IMAGE) -> Article:
    return Article(
        id=7,
        url="https://example.com/news/sanctions",
        title="Sanctions, explained",
        summary="What changes on Monday.",
        section="Economy",
        image_url=image_url,
        guid="g7",
        published_at=utcnow(),
        first_seen_at=utcnow(),
    )


def channel(fake: FakeGraphAPI) -> facebook.FacebookChannel:
    settings = FacebookSettings(
        mode="api", page_access_token=graph_api.PAGE_TOKEN, app_secret=graph_api.APP_SECRET, timeout=3.0
    )
    session = OAuth2Session()
    session.mount("https://", fake)
    return facebook.FacebookChannel(settings, session=session)


def test_a_photo_post_is_planned_with_the_link_in_its_caption(app: App) -> None:
    app.settings.facebook.photo = True
    account = next(a for a in configured_accounts(app.settings) if a.platform == "facebook")

    with_image = plan_account(app.templates, article(), account, app.settings, utcnow())
    without = plan_account(app.templates, article(None), account, app.settings, utcnow())

    assert with_image is not None and without is not None
    assert set(with_image.body) == {"caption", "url"} and with_image.body["url"] == IMAGE
    assert "https://example.com/news/sanctions?" in with_image.body["caption"]
    assert set(without.body) <= {"message", "link"}  # no image: an ordinary link post


def test_a_photo_post_goes_to_photos_and_records_the_page_post() -> None:
    fake = FakeGraphAPI()
    body = build_photo_body("Sanctions, explained https://example.com/a", IMAGE)

    receipt = channel(fake).send(SocialOut("k", "facebook", "page", body))

    assert fake.seen[-1].url.startswith(f"https://graph.facebook.com/v25.0/{graph_api.PAGE_ID}/photos?")
    assert fake.seen[-1].fields() == body and fake.seen[-1].timeout == 3.0
    assert receipt.provider_id == fake.post_ids[0]  # the Page post, not the photo object


def test_a_lost_photo_answer_is_not_posted_twice() -> None:
    fake = FakeGraphAPI()
    sender = channel(fake)
    message = SocialOut("k", "facebook", "page", build_photo_body("Caption https://e.com/x", IMAGE))
    fake.then(graph_api.answer_lost())
    with pytest.raises(TemporaryFailure):
        sender.send(message)

    receipt = sender.send(SocialOut(message.key, "facebook", "page", message.body, attempt=2))

    assert len(fake.posts) == 1 and receipt.provider_id == fake.post_ids[0]
