"""axe-core accessibility checks in headless Chromium, for any test that has a Playwright page.

axe-core comes from the npm registry at the version ``scripts/_bootstrap test`` pins, installed once into
``.venv/node`` (no network at test time). :func:`axe_violations` injects it into the page as it is and
runs every rule (WCAG A/AA and the best-practice rules), returning one line per violation::

    page.goto(server.link("/subscribe"))
    assert axe_violations(page) == []

:func:`axe_html` does the same for a document that is not served (an email's HTML part), loaded with
``set_content`` so no request leaves the machine. Without axe-core the check skips (fails under CI=true).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import ROOT, require

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE_JS = ROOT / ".venv" / "node" / "node_modules" / "axe-core" / "axe.min.js"
# Every rule axe ships except the experimental ones: WCAG 2.0-2.2 A and AA, and best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def axe_source(path: Path = AXE_JS) -> str:
    """The axe-core script; skip (or fail under CI=true) when the bootstrap has not installed it."""
    if not path.is_file():
        require("axe-core", "run scripts/_bootstrap test (npm installs the pinned axe-core into .venv/node)")
    return path.read_text(encoding="utf-8")


def axe_violations(page: Page, *, disable: tuple[str, ...] = ()) -> list[str]:
    """Each axe-core violation on the loaded page as "rule-id (impact): target, target ..."."""
    page.add_script_tag(content=axe_source())
    result = page.evaluate(
        """async ([tags, disable]) => {
            const rules = Object.fromEntries(disable.map(id => [id, {enabled: false}]));
            const run = await axe.run(document, {runOnly: {type: 'tag', values: tags}, rules});
            return run.violations.map(v =>
                `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(' ')).slice(0, 5).join(', ')}`);
        }""",
        [TAGS, list(disable)],
    )
    return [str(line) for line in result]


def axe_html(page: Page, html: str, *, disable: tuple[str, ...] = ()) -> list[str]:
    """:func:`axe_violations` of ``html`` (e.g. a digest's HTML part) loaded without a server."""
    page.route("**/*", lambda route: route.abort())  # images and links of the email stay unfetched
    page.set_content(html, wait_until="domcontentloaded")
    return axe_violations(page, disable=disable)
