"""The example digest checked by real tools: headless Chromium (layout at 600 and 375 px) and SpamAssassin.

Both are Debian packages installed by .ci/run; the tests skip locally (fail under CI=true) without them.
Screenshots go to artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from distro.app import App
from distro.services.delivery import dispatch
from distro.services.digest_compose import open_edition
from distro.services.digest_preview import render_preview
from distro.services.digest_send import queue_edition
from distro.services.ingest import ingest
from distro.services.subscribers import import_csv
from tests.conftest import EXAMPLE_SUBSCRIBERS, ROOT, require

ARTIFACTS = ROOT / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Rendering does not depend on the database: these run on SQLite only."""
    return f"sqlite:///{tmp_path / 'distro.db'}"


@pytest.fixture
def sqlite_app(app: App) -> App:
    app.settings.x.enabled = app.settings.facebook.enabled = False
    ingest(app)
    import_csv(app, EXAMPLE_SUBSCRIBERS)
    return app


def test_chromium_renders_the_digest_without_overflow_at_desktop_and_phone_widths(
    sqlite_app: App, tmp_path: Path
) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        require("chromium", "install Debian's chromium (see .ci/run)")
    from playwright import sync_api as playwright  # a test dependency: its absence is an error

    digest = open_edition(sqlite_app, sqlite_app.settings.digest).digest
    assert digest is not None
    page_bytes = render_preview(
        sqlite_app, sqlite_app.settings.digest, digest, email="amira.haddad@example.org"
    ).html
    html = page_bytes.decode()
    hrefs = {unescape(h) for h in re.findall(r'href="([^"]+)"', html)}
    images = {unescape(s) for s in re.findall(r'<img[^>]+src="([^"]+)"', html)}
    assert images, "the example digest has a lead image"
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as p:
        # Playwright gives the browser a fresh temporary --user-data-dir of its own.
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for width in (600, 375):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.route("**/*", lambda route: route.abort())  # offline: no image or font fetches
                page.set_content(html, wait_until="domcontentloaded")
                scroll, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
                assert scroll <= inner, f"horizontal overflow at {width}px: {scroll} > {inner}"
                shown = set(
                    page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
                )
                assert hrefs <= shown
                srcs = page.eval_on_selector_all(
                    "img", "els => els.map(e => [e.getAttribute('src'), e.hasAttribute('alt')])"
                )  # alt="" is right for a picture that only repeats the headline's link
                assert {src for src, _ in srcs} >= images and all(alt for _, alt in srcs)
                page.screenshot(path=str(ARTIFACTS / f"digest-{width}px.png"), full_page=True)
                page.close()
        finally:
            browser.close()
    assert (ARTIFACTS / "digest-375px.png").stat().st_size > 0


def test_spamassassin_scores_the_example_digest_below_one(sqlite_app: App) -> None:
    if shutil.which("spamassassin") is None:
        require("spamassassin", "install Debian's spamassassin (see .ci/run)")
    digest = open_edition(sqlite_app, sqlite_app.settings.digest).digest
    assert digest is not None
    queue_edition(sqlite_app, sqlite_app.settings.digest, digest)
    dispatch(sqlite_app, ["email"])
    message = sorted(sqlite_app.settings.email_dir.glob("*.eml"))[0].read_bytes()
    done = subprocess.run(
        ["spamassassin", "-L", "-t"], input=message, capture_output=True, timeout=120, check=False
    )
    report = done.stdout.decode("utf-8", "replace")
    match = re.search(r"X-Spam-Status: \w+, score=(-?[\d.]+)", report)
    assert match, report[-2000:]
    score = float(match[1])
    assert score < 1.0, report.split("Content analysis details:", 1)[-1][:3000]
