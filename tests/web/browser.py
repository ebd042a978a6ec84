"""Browser tests through a real server: uvicorn on loopback, Debian's headless Chromium driven by Playwright.

What is here, and how to use it from any web test (subscriber pages, the editor's desk, ...):

- :func:`live_server` (a context manager) and the ``serve`` fixture (tests/web/conftest.py) start
  ``create_web_app(app)`` under uvicorn on 127.0.0.1 in a background thread. The socket is bound first
  (port 0) so the port is known before the app starts, and ``app.settings.web.public_url`` is set to the
  server's URL: links in emails and pages then point at this server. ``serve(app)`` returns a
  :class:`LiveServer` (``.url``, ``.link(path)``) and the server is stopped cleanly at the end of the test.
  Pass ``routers=[...]`` to serve only some routers.
- The ``browser`` fixture is one Chromium for the whole test module (launching it is the slow part); the
  ``page`` fixture is a fresh context (no cookies) with a phone-sized viewport (:data:`PHONE`) per test.
  Without Chromium or Playwright the fixtures skip, or fail under CI=true (:func:`tests.conftest.require`).
- :func:`screenshot` saves ``artifacts/e2e/<name>.png`` (artifacts/ is gitignored) for a person to look at;
  :func:`horizontal_overflow` measures what a page sticks out past the viewport;
  :func:`unlabelled_inputs` lists form controls without a label.

A desk test, for instance::

    def test_preview(app: App, serve: Serve, page: Page) -> None:
        server = serve(app)
        page.goto(server.link("/desk/login"))
        page.fill("#email", EDITOR)
        ...
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import fastapi
import uvicorn

from distro.app import App
from distro.web.app import create_web_app
from tests.conftest import ROOT, require

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ARTIFACTS = ROOT / "artifacts" / "e2e"
PHONE = {"width": 375, "height": 800}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
START_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class LiveServer:
    url: str  # http://127.0.0.1:<port>, no trailing slash

    def link(self, path: str) -> str:
        return f"{self.url}/{path.lstrip('/')}"


Serve = Callable[..., LiveServer]


@contextmanager
def live_server(app: App, *, routers: list[fastapi.APIRouter] | None = None) -> Iterator[LiveServer]:
    """Serve ``create_web_app(app, routers=routers)`` on a free loopback port for the ``with`` block."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app.settings.web.public_url = server_url  # before the app runs: emails it queues link back here
    web_app = create_web_app(app, routers=routers)
    # A bounded graceful shutdown: the browser may keep a connection open after the test.
    config = uvicorn.Config(web_app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {server_url}")
            time.sleep(0.01)
        yield LiveServer(server_url)
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium (no download), headless; skip or fail (CI=true) when it is missing."""
    executable = shutil.which("chromium")
    if executable is None:
        require("chromium", "install Debian's chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright  # a test dependency: its absence is an error

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, **options: Any) -> Page:
    """A page in a context of its own (no cookies shared with other pages), phone-sized unless told."""
    context = browser.new_context(viewport=options.pop("viewport", PHONE), **options)
    context.set_default_timeout(10_000)
    return context.new_page()


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the document is wider than the viewport (0 when nothing sticks out)."""
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return max(0, int(scroll) - int(inner))


def unlabelled_inputs(page: Page) -> list[str]:
    """Names of visible form controls that no label names (what a screen reader would read as blank)."""
    found: list[str] = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(e => !e.closest('[aria-hidden=true]'))
            .filter(e => !e.labels.length && !e.getAttribute('aria-label'))
            .map(e => e.name || e.outerHTML)"""
    )
    return found


def screenshot(page: Page, name: str) -> None:
    """Save the whole page as artifacts/e2e/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
