"""The editor's web preview via TestClient: guarded by the editor token, the same bytes as the CLI."""

from __future__ import annotations

import base64
import re
import shutil
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from distro.app import App, build_app
from distro.db import upgrade
from distro.services.digest import compose_weekly, preview
from distro.services.ingest import ingest
from distro.services.subscribers import import_csv
from distro.settings import Settings
from distro.web import preview as preview_routes
from distro.web.app import create_web_app
from tests.conftest import EXAMPLE_SUBSCRIBERS, require
from tests.test_digest_real import ARTIFACTS, CHROMIUM_ARGS

TOKEN = "editor-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The preview reads what the digest services render; the database is covered by their tests."""
    return f"sqlite:///{tmp_path / 'distro.db'}"


def web_client(settings: Settings, token: str | None) -> tuple[TestClient, App]:
    web = settings.web.model_copy(update={"editor_token": SecretStr(token) if token else None})
    app = build_app(settings.model_copy(update={"web": web}))
    upgrade(app.engine)
    app.settings.x.enabled = app.settings.facebook.enabled = False
    return TestClient(create_web_app(app, routers=[preview_routes.router])), app


@pytest.fixture
def client(settings: Settings) -> Iterator[tuple[TestClient, App]]:
    test_client, app = web_client(settings, TOKEN)
    ingest(app)
    import_csv(app, EXAMPLE_SUBSCRIBERS)
    with test_client:
        yield test_client, app
    app.engine.dispose()


@pytest.mark.parametrize(
    "path", ["/editor/preview", "/editor/preview/digest.html", "/editor/preview/digest.txt"]
)
def test_every_preview_route_needs_the_editor_token(client: tuple[TestClient, App], path: str) -> None:
    test_client, _ = client
    basic = base64.b64encode(f"editor:{TOKEN}".encode()).decode()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}x"},
                    {"Authorization": "Basic !!"}, {"Authorization": f"Token {TOKEN}"}):  # fmt: skip
        response = test_client.get(path, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Basic")  # a browser asks for it
        assert TOKEN not in response.text
    assert test_client.get(path, headers=BEARER).status_code == 200
    ok = test_client.get(path, headers={"Authorization": f"Basic {basic}"})
    assert ok.status_code == 200 and ok.headers["Cache-Control"] == "no-store"


def test_without_a_configured_token_the_preview_is_off_and_says_how_to_turn_it_on(settings: Settings) -> None:
    test_client, app = web_client(settings, None)
    with test_client:
        response = test_client.get("/editor/preview", headers=BEARER)
    app.engine.dispose()
    assert response.status_code == 503 and "DISTRO_WEB__EDITOR_TOKEN" in response.text


@pytest.mark.parametrize("subscriber", [None, "amira.haddad@example.org"])
def test_the_web_preview_serves_the_bytes_digest_preview_writes(
    client: tuple[TestClient, App], subscriber: str | None
) -> None:
    test_client, app = client
    params = {"subscriber": subscriber} if subscriber else {}
    page = test_client.get("/editor/preview", headers=BEARER, params=params)
    raw_html = test_client.get("/editor/preview/digest.html", headers=BEARER, params=params)
    raw_text = test_client.get("/editor/preview/digest.txt", headers=BEARER, params=params)
    digest = compose_weekly(app).digest
    assert digest is not None
    html_path, text_path, _ = preview(app, digest, email=subscriber)  # what `distro digest preview` writes
    assert raw_html.content == html_path.read_bytes()
    assert raw_text.content == text_path.read_bytes()
    assert raw_html.headers["content-type"] == "text/html; charset=utf-8"
    frames = re.findall(r'<iframe [^>]*width="(\d+)"[^>]*srcdoc="([^"]*)"', page.text)
    assert [width for width, _ in frames] == ["600", "375"]
    assert all(unescape(source).encode() == html_path.read_bytes() for _, source in frames)


def test_an_unknown_subscriber_is_a_404_naming_the_address(client: tuple[TestClient, App]) -> None:
    test_client, _ = client
    response = test_client.get("/editor/preview", headers=BEARER, params={"subscriber": "nobody@example.org"})
    assert response.status_code == 404 and "nobody@example.org" in response.text


def test_chromium_shows_both_widths_side_by_side(client: tuple[TestClient, App]) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        require("chromium", "install Debian's chromium (see .ci/run)")
    from playwright import sync_api as playwright

    test_client, _ = client
    html = test_client.get("/editor/preview", headers=BEARER).text
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1000})
            page.route("**/*", lambda route: route.abort())  # offline: no image or font fetches
            page.set_content(html, wait_until="load")
            widths = []
            for frame in page.frames[1:]:
                widths.append(frame.evaluate("[window.innerWidth, document.scrollingElement.scrollWidth]"))
            assert sorted(inner for inner, _ in widths) == [375, 600]
            assert all(scroll <= inner for inner, scroll in widths), widths  # no sideways scrolling
            page.screenshot(path=str(ARTIFACTS / "editor-preview.png"))
        finally:
            browser.close()
    assert (ARTIFACTS / "editor-preview.png").stat().st_size > 0
