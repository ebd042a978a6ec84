"""POST /hooks/articles through FastAPI's TestClient: signed, fresh, sanitised, stored like a poll; a
replayed signature or an older version of an article changes nothing; malformed headers get a 4xx."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient
from pydantic import SecretStr

from distro.app import App, build_app
from distro.db import upgrade
from distro.models import Article, SeenWebhookSignature
from distro.settings import Settings
from distro.sources.webhook import sign
from distro.store.articles import FRESH
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
def client(settings: Settings, clock: time_machine.Coordinates) -> Iterator[tuple[TestClient, App]]:
    web_settings = settings.web.model_copy(update={"webhook_secret": SecretStr(SECRET)})
    app = build_app(settings.model_copy(update={"web": web_settings}))
    upgrade(app.engine)
    with TestClient(create_web_app(app)) as test_client:
        yield test_client, app
    app.engine.dispose()


def signed(body: bytes, *, secret: str = SECRET, age: int = 0) -> dict[str, str]:
    timestamp = str(int(time.time()) - age)
    return {"X-Distro-Timestamp": timestamp, "X-Distro-Signature": sign(secret, timestamp, body)}


def post(
    client: TestClient, body: bytes, *, secret: str = SECRET, age: int = 0, **headers: str | bytes
) -> httpx.Response:
    """POST through httpx's ASGI transport, which sends bytes header values as they are (a server sees
    b"\\xb2" as "\u00b2"; TestClient would re-encode them as UTF-8)."""
    sent: dict[str, str | bytes] = {**signed(body, secret=secret, age=age)}
    sent.update(headers)

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as raw:
            return await raw.post(
                "/hooks/articles", content=body, headers={k: v for k, v in sent.items() if v}
            )

    return asyncio.run(send())


def stored(app: App) -> list[tuple[str, str, str, str | None, bool]]:
    with app.engine.connect() as connection:
        query = sa.select(Article.url, Article.title, Article.summary, Article.image_url, FRESH)
        return [tuple(row) for row in connection.execute(query)]  # type: ignore[misc]


def test_a_signed_article_is_stored_sanitised_and_fresh(client: tuple[TestClient, App]) -> None:
    test_client, app = client
    response = post(test_client, json.dumps(ARTICLE).encode())
    assert response.status_code == 202, response.text
    assert response.json() == {"stored": 1, "new": 1, "updated": 0, "stale": 0}
    assert stored(app) == [("https://mag.example/2026/11/story", "Breaking news", "Summary link", None, True)]
    edited = {**ARTICLE, "title": "Breaking news, updated"}
    assert post(test_client, json.dumps({"articles": [edited]}).encode()).json()["updated"] == 1
    assert [row[1] for row in stored(app)] == ["Breaking news, updated"]


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"secret": "wrong"}, 401, "bad X-Distro-Signature"),
        ({"X-Distro-Signature": ""}, 401, "missing X-Distro-Signature"),
        ({"age": 3600}, 401, "stale X-Distro-Timestamp"),
        ({"X-Distro-Timestamp": "yesterday"}, 400, "invalid X-Distro-Timestamp"),
        # int() refuses more than 4300 digits, and isdigit() takes superscripts: both were a 500.
        ({"X-Distro-Timestamp": "9" * 5000}, 400, "invalid X-Distro-Timestamp"),
        ({"X-Distro-Timestamp": "\u00b2".encode("latin-1")}, 400, "invalid X-Distro-Timestamp"),
        ({"X-Distro-Timestamp": "1" + "0" * 30}, 400, "invalid X-Distro-Timestamp"),
        # compare_digest raised TypeError for a non-ASCII str: a 500.
        ({"X-Distro-Signature": "sha256=\u00e9t\u00e9".encode("latin-1")}, 401, "bad X-Distro-Signature"),
    ],
)
def test_bad_missing_or_stale_signatures_are_refused(
    client: tuple[TestClient, App], change: dict[str, object], status: int, message: str
) -> None:
    test_client, app = client
    response = post(test_client, json.dumps(ARTICLE).encode(), **change)  # type: ignore[arg-type]
    assert response.status_code == status
    assert message in response.json()["error"]
    assert SECRET not in response.text
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
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert stored(app) == []


def test_without_a_configured_secret_the_hook_is_closed(settings: Settings) -> None:
    app = build_app(settings)
    upgrade(app.engine)
    with TestClient(create_web_app(app)) as test_client:
        response = post(test_client, json.dumps(ARTICLE).encode())
    app.engine.dispose()
    assert response.status_code == 503
    assert "DISTRO_WEB__WEBHOOK_SECRET" in response.json()["error"]


def titles(app: App) -> list[str]:
    return [row[1] for row in stored(app)]


def test_a_replayed_request_is_refused_and_changes_nothing(
    client: tuple[TestClient, App], clock: time_machine.Coordinates
) -> None:
    test_client, app = client
    v1 = json.dumps({**ARTICLE, "title": "First version"}).encode()
    v1_headers = signed(v1)
    assert test_client.post("/hooks/articles", content=v1, headers=v1_headers).status_code == 202
    clock.shift(timedelta(seconds=30))
    v2 = json.dumps({**ARTICLE, "title": "Second version"}).encode()
    assert post(test_client, v2).json()["updated"] == 1
    clock.shift(timedelta(seconds=60))  # well inside the 300 s window of v1's timestamp
    replay = test_client.post("/hooks/articles", content=v1, headers=v1_headers)
    assert replay.status_code == 409
    assert "replayed request" in replay.json()["error"]
    assert titles(app) == ["Second version"]
    # Only a hash of each accepted signature is kept, and only until its window ends.
    with app.engine.connect() as connection:
        digests = connection.execute(sa.select(SeenWebhookSignature.digest)).scalars().all()
    assert hashlib.sha256(v1_headers["X-Distro-Signature"].encode()).hexdigest() in digests
    assert all(v1_headers["X-Distro-Signature"].removeprefix("sha256=") not in d for d in digests)
    assert len(digests) == 2


def test_remembered_signatures_are_purged_once_their_window_ends(
    client: tuple[TestClient, App], clock: time_machine.Coordinates
) -> None:
    test_client, app = client
    assert post(test_client, json.dumps(ARTICLE).encode()).status_code == 202
    clock.shift(timedelta(seconds=app.settings.web.webhook_max_age_seconds + 2))
    later = json.dumps({**ARTICLE, "title": "Later"}).encode()
    assert post(test_client, later).status_code == 202
    with app.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(SeenWebhookSignature)).scalar() == 1


def test_an_older_version_never_overwrites_a_newer_one(client: tuple[TestClient, App]) -> None:
    """By the article's updated_at when the CMS sends it, else by the signed send time."""
    test_client, app = client
    newer = {**ARTICLE, "title": "Newer", "updated_at": "2026-11-27T11:00:00Z"}
    older = {**ARTICLE, "title": "Older", "updated_at": "2026-11-27T10:00:00Z"}
    assert post(test_client, json.dumps(newer).encode()).json()["new"] == 1
    answer = post(test_client, json.dumps(older).encode()).json()
    assert (answer["updated"], answer["stale"]) == (0, 1)
    assert titles(app) == ["Newer"]
    assert (
        post(
            test_client,
            json.dumps({**newer, "title": "Newest", "updated_at": "2026-11-27T11:30:00Z"}).encode(),
        ).json()["updated"]
        == 1
    )
    assert titles(app) == ["Newest"]


def test_without_updated_at_the_signed_send_time_orders_versions(client: tuple[TestClient, App]) -> None:
    test_client, app = client
    slow = json.dumps({**ARTICLE, "title": "Sent first, arrived last"}).encode()
    slow_headers = signed(slow, age=20)  # signed 20 s ago, still inside the window
    assert post(test_client, json.dumps({**ARTICLE, "title": "Sent last"}).encode()).status_code == 202
    answer = test_client.post("/hooks/articles", content=slow, headers=slow_headers)
    assert answer.status_code == 202 and answer.json()["stale"] == 1
    assert titles(app) == ["Sent last"]
