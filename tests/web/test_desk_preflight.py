"""The desk's digest page shows the pre-flight, and its send button is refused with the one-line reason.

Same week and readers as tests/web/test_desk_digest.py (its fixtures); SMTP without DKIM is the unsafe
case, as on a site that has not set up its key yet.
"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from distro.app import App
from distro.db import session_scope
from distro.models import Delivery
from tests.web.test_desk_digest import client, csrf, post, pytestmark, week

__all__ = ["client", "csrf", "pytestmark", "week"]  # fixtures and the database parameter, reused


def test_the_page_lists_the_checks_and_an_unsafe_send_is_refused(
    week: App, client: TestClient, csrf: str
) -> None:
    page = client.get("/desk/digest").text
    assert '<h2 id="preflight-title">Pre-flight</h2>' in page
    assert "<strong>warning</strong> (links): link is not https: http://localhost:8000/" in page
    assert "Sending is refused" not in page
    week.settings.email.mode = "smtp"  # and no DKIM key
    page = client.get("/desk/digest").text
    assert "<strong>error</strong> (dkim): DKIM is not configured" in page
    assert "Sending is refused until the errors above are fixed." in page and " disabled>Send now" in page
    sent = post(client, "send", csrf).text  # type: ignore[attr-defined]
    assert "Not sent: pre-flight refused weekly-2026-W49: DKIM is not configured" in sent
    with session_scope(week.engine) as session:
        assert session.exec(sa.select(sa.func.count()).select_from(Delivery)).one()[0] == 0
