"""Fixtures of the browser tests; the machinery and how to use it are in :mod:`tests.web.browser`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest

from distro.app import App
from tests.web.browser import LiveServer, Serve, chromium, live_server, new_page

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture
def serve() -> Iterator[Serve]:
    """``serve(app, routers=None)`` starts a live server for ``app``; it is stopped after the test."""
    with ExitStack() as stack:

        def start(app: App, **options: Any) -> LiveServer:
            return stack.enter_context(live_server(app, **options))

        yield start


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A phone-sized page (375 px) in a fresh context, closed after the test."""
    opened = new_page(browser)
    yield opened
    opened.context.close()
