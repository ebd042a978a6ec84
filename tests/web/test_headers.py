"""Headers on every response (:mod:`distro.web.headers`) and HEAD wherever GET is, through TestClient."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from distro.app import App
from distro.models import Subscriber
from distro.services.personal import preferences_url, unsubscribe_url
from distro.services.subscribers import add_subscriber
from distro.web.app import create_web_app
from distro.web.desk_auth import HEADERS as DESK_HEADERS
from tests.web.desk import signed_in


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app)) as test_client:
        yield test_client


@pytest.fixture
def links(app: App) -> dict[str, str]:
    assert add_subscriber(app, "ana@example.org")
    with app.engine.connect() as connection:
        sid = int(connection.execute(sa.select(Subscriber.id)).scalar_one())
    path = re.compile(r"^https?://[^/]+")
    return {
        "unsubscribe": path.sub("", unsubscribe_url(app, sid)),
        "preferences": path.sub("", preferences_url(app, sid)),
    }


def csp(response: object) -> dict[str, str]:
    header = response.headers["content-security-policy"]  # type: ignore[attr-defined]
    return {d.split()[0]: d.partition(" ")[2] for d in (p.strip() for p in header.split(";")) if d}


def test_subscriber_pages_get_a_policy_nosniff_and_no_referrer(
    client: TestClient, links: dict[str, str]
) -> None:
    for path in ("/subscribe", links["unsubscribe"], links["preferences"], "/confirm/not-a-token"):
        response = client.get(path)
        assert response.headers["content-type"].startswith("text/html"), path
        policy = csp(response)
        assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'", path
        assert "script-src" not in policy, path  # scripts fall back to default-src 'none'
        assert policy["form-action"] == "'self'" and policy["base-uri"] == "'none'", path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "no-referrer", path


def test_token_bearing_answers_that_are_not_pages_send_no_referrer_too(
    client: TestClient, links: dict[str, str]
) -> None:
    one_click = client.post(links["unsubscribe"], data={"List-Unsubscribe": "One-Click"})
    invalid = client.get("/preferences/forged.token")
    for response in (one_click, invalid):
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_json_and_error_answers_get_nosniff(client: TestClient) -> None:
    for response in (client.get("/healthz"), client.get("/no-such-page"), client.post("/healthz")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in response.headers["content-security-policy"]


def test_the_desk_keeps_its_own_policy(app: App, client: TestClient) -> None:
    login_page = client.get("/desk/login")
    signed_in(app, client)
    for response in (login_page, client.get("/desk"), client.get("/desk/social")):
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == DESK_HEADERS["Content-Security-Policy"]
        assert response.headers["referrer-policy"] == DESK_HEADERS["Referrer-Policy"]
        assert response.headers["x-content-type-options"] == "nosniff"


def test_head_answers_wherever_get_does(app: App, client: TestClient, links: dict[str, str]) -> None:
    signed_in(app, client)
    paths = ["/healthz", "/metrics", "/subscribe", links["unsubscribe"], links["preferences"], "/desk"]
    for path in [*paths, "/desk/login", "/desk/digest", "/desk/social", "/desk/log", "/no-such-page"]:
        got = client.get(path, follow_redirects=False)
        head = client.head(path, follow_redirects=False)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        for name in ("content-type", "location", "content-security-policy"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)


def test_head_changes_nothing_and_is_no_way_around_post(client: TestClient, links: dict[str, str]) -> None:
    assert client.head(links["unsubscribe"]).status_code == 200
    assert client.head("/desk/logout").status_code == 405  # POST-only: HEAD is not a POST
    page = client.get(links["unsubscribe"])
    assert "Unsubscribe</button>" in page.text  # still subscribed
