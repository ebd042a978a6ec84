"""POST /hooks/articles through FastAPI's TestClient: signed, fresh, sanitised, stored like a poll."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from distro.app import App, build_app
from distro.db import upgrade
from distro.models import Article
from distro.services.ingest import FRESH
from distro.settings import Settings
from distro.sources.webhook import sign
from distro.web.app import create_web_app

SECRET = "s3cret-webhook-key"
ARTICLE = {
    "url": "https://mag.example/2026/11/story",
    "title": "Breaking <script>alert(1)</script><b onmouseover=x()>news</b>",
    "summary": '<p>Summary <a href="javascript:alert(1)">link</a></p>',
    "author": "Ada",
    "section": "Security",
    "image_url": "data:image/png;base64,AAAA",
    "published_at": "2026-11-24T09:00:00+01:00",
}


@pytest.fixture
def client(settings: Settings) -> Iterator[tuple[TestClient, App]]:
    web_settings = settings.web.model_copy(update={"webhook_secret": SecretStr(SECRET)})
    app = build_app(settings.model_copy(update={"web": web_settings}))
    upgrade(app.engine)
    with TestClient(create_web_app(app)) as test_client:
        yield test_client, app
    app.engine.dispose()


def post(client: TestClient, body: bytes, *, secret: str = SECRET, age: int = 0, **headers: str) -> object:
    timestamp = str(int(time.time()) - age)
    sent = {"X-Distro-Timestamp": timestamp, "X-Distro-Signature": sign(secret, timestamp, body)}
    sent.update(headers)
    return client.post("/hooks/articles", content=body, headers={k: v for k, v in sent.items() if v})


def stored(app: App) -> list[tuple[str, str, str, str | None, bool]]:
    with app.engine.connect() as connection:
        query = sa.select(Article.url, Article.title, Article.summary, Article.image_url, FRESH)
        return [tuple(row) for row in connection.execute(query)]  # type: ignore[misc]


def test_a_signed_article_is_stored_sanitised_and_fresh(client: tuple[TestClient, App]) -> None:
    test_client, app = client
    response = post(test_client, json.dumps(ARTICLE).encode())
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    assert response.json() == {"stored": 1, "new": 1, "updated": 0}  # type: ignore[attr-defined]
    assert stored(app) == [("https://mag.example/2026/11/story", "Breaking news", "Summary link", None, True)]
    edited = {**ARTICLE, "title": "Breaking news, updated"}
    assert post(test_client, json.dumps({"articles": [edited]}).encode()).json()["updated"] == 1  # type: ignore[attr-defined]
    assert [row[1] for row in stored(app)] == ["Breaking news, updated"]


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"secret": "wrong"}, 401, "bad X-Distro-Signature"),
        ({"X-Distro-Signature": ""}, 401, "missing X-Distro-Signature"),
        ({"age": 3600}, 401, "stale X-Distro-Timestamp"),
        ({"X-Distro-Timestamp": "yesterday"}, 400, "invalid X-Distro-Timestamp"),
    ],
)
def test_bad_missing_or_stale_signatures_are_refused(
    client: tuple[TestClient, App], change: dict[str, object], status: int, message: str
) -> None:
    test_client, app = client
    response = post(test_client, json.dumps(ARTICLE).encode(), **change)  # type: ignore[arg-type]
    assert response.status_code == status  # type: ignore[attr-defined]
    assert message in response.json()["error"]  # type: ignore[attr-defined]
    assert SECRET not in response.text  # type: ignore[attr-defined]
    assert stored(app) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "must be an article object"),
        (json.dumps({"title": "no url"}).encode(), "'url' must be an absolute http(s) URL"),
        (json.dumps({"url": "javascript:alert(1)"}).encode(), "'url' must be"),
    ],
)
def test_bad_bodies_name_what_to_fix(client: tuple[TestClient, App], body: bytes, message: str) -> None:
    test_client, app = client
    response = post(test_client, body)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert message in response.json()["error"]  # type: ignore[attr-defined]
    assert stored(app) == []


def test_without_a_configured_secret_the_hook_is_closed(settings: Settings) -> None:
    app = build_app(settings)
    upgrade(app.engine)
    with TestClient(create_web_app(app)) as test_client:
        response = post(test_client, json.dumps(ARTICLE).encode())
    app.engine.dispose()
    assert response.status_code == 503  # type: ignore[attr-defined]
    assert "DISTRO_WEB__WEBHOOK_SECRET" in response.json()["error"]  # type: ignore[attr-defined]
