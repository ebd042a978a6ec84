"""How ``distro web`` / ``distro run`` start uvicorn (:mod:`distro.web.serve`), against a real server on a
free loopback port: forwarded headers are believed only from ``web.forwarded_allow_ips``, so a local
client cannot pick the address the app sees (and with it its rate-limit bucket); HEAD works on the wire."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fastapi
import httpx
import pytest
import uvicorn

from distro.app import App, build_app
from distro.settings import Settings
from distro.web import ops
from distro.web.app import create_web_app
from distro.web.serve import server_config

ROOT = Path(__file__).resolve().parents[2]
FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
echo = fastapi.APIRouter()


@echo.get("/whoami")
def whoami(request: fastapi.Request) -> dict[str, str]:
    """What the app believes about the client: the address rate limits are keyed on, and the scheme."""
    return {"client": request.client.host if request.client else "", "scheme": request.url.scheme}


@pytest.fixture
def site(tmp_path: Path) -> App:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'distro.db'}",
        var_dir=tmp_path / "var",
        templates_dir=ROOT / "templates",
    )
    return build_app(settings)


@contextmanager
def running(app: App) -> Iterator[str]:
    """The web app under uvicorn, configured exactly as ``distro web`` configures it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    web_app = create_web_app(app, routers=[echo, ops.router])
    config = server_config(
        web_app, app.settings.web, host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_by_default_a_local_client_cannot_choose_its_address(site: App) -> None:
    assert site.settings.web.forwarded_allow_ips == []
    with running(site) as url:
        seen = httpx.get(f"{url}/whoami", headers=FORWARDED).json()
    assert seen == {"client": "127.0.0.1", "scheme": "http"}


def test_forwarded_headers_from_another_address_than_the_proxy_are_ignored(site: App) -> None:
    site.settings.web.forwarded_allow_ips = ["192.0.2.10"]
    with running(site) as url:
        seen = httpx.get(f"{url}/whoami", headers=FORWARDED).json()
    assert seen == {"client": "127.0.0.1", "scheme": "http"}


def test_the_configured_proxy_is_believed(site: App) -> None:
    site.settings.web.forwarded_allow_ips = ["127.0.0.1"]
    with running(site) as url:
        seen = httpx.get(f"{url}/whoami", headers=FORWARDED).json()
        plain = httpx.get(f"{url}/whoami").json()
    assert seen == {"client": "203.0.113.9", "scheme": "https"}
    assert plain == {"client": "127.0.0.1", "scheme": "http"}


def test_head_is_answered_like_get_without_a_body_on_the_wire(site: App) -> None:
    with running(site) as url:
        got = httpx.get(f"{url}/healthz")
        head = httpx.head(f"{url}/healthz")
    assert head.status_code == got.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == got.headers["content-length"]


def test_from_the_proxy_a_client_cannot_prepend_its_own_address(site: App) -> None:
    """The proxy appends the address it saw; anything the client put before it is not believed."""
    site.settings.web.forwarded_allow_ips = ["127.0.0.1"]
    with running(site) as url:
        seen = httpx.get(f"{url}/whoami", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"}).json()
    assert seen["client"] == "203.0.113.9"
