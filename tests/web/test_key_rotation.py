"""Rotating DISTRO_SECRET_KEY: the links already in inboxes keep working through
DISTRO_SECRET_KEY_PREVIOUS, and every new link is signed with the new key (TestClient, both databases)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from distro.app import App, build_app
from distro.models import Subscriber, SubscriberStatus
from distro.services.personal import preferences_url, unsubscribe_url
from distro.services.subscribers import add_subscriber
from distro.tokens import InvalidToken, read_token
from distro.web.app import create_web_app

NEW_KEY = "a-new-signing-key-after-the-rotation"


def rotated(app: App, *, keep_previous: bool) -> App:
    """The same site and database after the operator set a new DISTRO_SECRET_KEY."""
    previous = [SecretStr(bytes(app.signing_key).decode())] if keep_previous else []
    settings = app.settings.model_copy(
        update={"secret_key": SecretStr(NEW_KEY), "secret_key_previous": previous}
    )
    return build_app(settings, engine=app.engine)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def status_of(app: App, subscriber_id: int) -> str:
    with app.engine.connect() as connection:
        return str(
            connection.execute(sa.select(Subscriber.status).where(Subscriber.id == subscriber_id)).scalar()
        )


@pytest.fixture
def reader(app: App) -> int:
    assert add_subscriber(app, "ana@example.org", "Ana")
    with app.engine.connect() as connection:
        found = connection.execute(sa.select(Subscriber.id).where(Subscriber.email == "ana@example.org"))
        return int(found.scalar_one())


def test_a_link_sent_before_the_rotation_still_unsubscribes(app: App, reader: int) -> None:
    old_unsubscribe, old_preferences = unsubscribe_url(app, reader), preferences_url(app, reader)
    with TestClient(create_web_app(rotated(app, keep_previous=True))) as client:
        assert client.get(path_of(old_preferences)).status_code == 200
        response = client.post(path_of(old_unsubscribe), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert status_of(app, reader) == SubscriberStatus.UNSUBSCRIBED


def test_without_the_previous_key_the_old_link_is_refused(app: App, reader: int) -> None:
    """What DISTRO_SECRET_KEY_PREVIOUS prevents: every unsubscribe link in readers' inboxes answering 400."""
    old_unsubscribe = unsubscribe_url(app, reader)
    with TestClient(create_web_app(rotated(app, keep_previous=False))) as client:
        response = client.post(path_of(old_unsubscribe), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400
    assert status_of(app, reader) == SubscriberStatus.ACTIVE


def test_links_made_after_the_rotation_use_the_new_key(app: App, reader: int) -> None:
    after = rotated(app, keep_previous=True)
    token = path_of(unsubscribe_url(after, reader)).rsplit("/", 1)[1]
    assert path_of(unsubscribe_url(after, reader)) != path_of(unsubscribe_url(app, reader))
    assert read_token(NEW_KEY.encode(), "unsubscribe", token) == reader
    with pytest.raises(InvalidToken):
        read_token(bytes(app.signing_key), "unsubscribe", token)
    with TestClient(create_web_app(after)) as client:
        response = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and status_of(app, reader) == SubscriberStatus.UNSUBSCRIBED
