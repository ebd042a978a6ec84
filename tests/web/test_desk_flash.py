"""The desk's notices and errors come from the server (a signed flash cookie), never from the query string:
a crafted link cannot make the real desk show a text of its choosing (TestClient, both databases)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from distro.app import App
from distro.services.editors import add_editor
from distro.web.app import create_web_app
from distro.web.desk_flash import FLASH_COOKIE
from tests.web.desk import PASSWORD, login, signed_in

PHISH = "Your session expired: sign in again at https://desk-login.example"
PAGES = ("/desk", "/desk/digest", "/desk/social")


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app)) as test_client:
        yield test_client


def hold_nothing(client: TestClient, csrf: str) -> object:
    """A refused action (no such post): the social queue answers with an error message."""
    return client.post("/desk/social/nothing/hold", data={"csrf_token": csrf}, follow_redirects=False)


def test_texts_in_the_query_string_are_never_shown(app: App, client: TestClient) -> None:
    signed_in(app, client)
    for page in PAGES:
        response = client.get(page, params={"notice": PHISH, "error": PHISH})
        assert response.status_code == 200, page
        assert "desk-login.example" not in response.text, page


def test_a_form_message_travels_in_a_cookie_and_is_shown_once(app: App, client: TestClient) -> None:
    csrf = signed_in(app, client, "/desk/social")
    refused = hold_nothing(client, csrf)
    assert refused.status_code == 303  # type: ignore[attr-defined]
    assert refused.headers["location"] == "/desk/social"  # type: ignore[attr-defined]
    shown = client.get("/desk/social")
    assert "Not held: no delivery" in shown.text
    assert "Not held" not in client.get("/desk/social").text  # shown once, then gone


def test_a_forged_flash_cookie_shows_nothing(app: App, client: TestClient) -> None:
    signed_in(app, client)
    body = base64.urlsafe_b64encode(json.dumps({"notice": None, "error": PHISH}).encode()).decode()
    client.cookies.set(FLASH_COOKIE, f"{body.rstrip('=')}.{'0' * 32}", path="/desk")
    assert "desk-login.example" not in client.get("/desk/social").text


def test_a_flash_made_for_another_session_shows_nothing(app: App, client: TestClient) -> None:
    csrf = signed_in(app, client, "/desk/social")
    made = hold_nothing(client, csrf).cookies[FLASH_COOKIE]  # type: ignore[attr-defined]
    add_editor(app, "second@meridian-review.example", PASSWORD)
    with TestClient(create_web_app(app)) as other:
        assert login(other, "second@meridian-review.example").status_code == 303
        other.cookies.set(FLASH_COOKIE, made, path="/desk")
        assert "Not held" not in other.get("/desk/social").text
