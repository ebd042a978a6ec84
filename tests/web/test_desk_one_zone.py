"""Every desk page in one timezone, and viewers shown no controls.

The desk's zone is Europe/London (the main newsletter's); on Friday 2026-11-27 (the ``clock`` fixture)
London keeps GMT, so a time written in the desk's zone says "GMT" and one left in UTC says "UTC": no page
may. Viewers read the dashboard, digest and social queue without a single form that would change
something (the sign-out form excepted) and with a note saying who makes changes; editors get the forms.
The pages are rendered by the real app over a week of ingested articles, planned social posts, readers, a
paused channel and the delivery log. SQLite only: what is checked is the templates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient

from distro.app import App
from distro.models import utcnow
from distro.services.ingest import ingest
from distro.services.social import plan_social
from distro.services.subscribers import add_subscriber
from distro.store import pauses
from distro.web.app import create_web_app
from tests.web.desk import signed_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
NOTE = "You can read the desk; an editor or admin makes changes."
PAGES = [
    "/desk",
    "/desk/digest",
    "/desk/social",
    "/desk/social/new",
    "/desk/log",
    "/desk/subscribers",
    "/desk/activity",
    "/desk/editors",
    "/desk/sources",
    "/desk/accounts",
    "/desk/api-tokens",
    "/desk/reports",
]


@pytest.fixture
def desk(app: App, clock: time_machine.Traveller) -> App:
    """Four new articles, their X and Facebook posts, two readers, X paused for a day."""
    ingest(app, backfill=4)
    assert plan_social(app) == 8
    add_subscriber(app, "amira@example.org", "Amira")
    add_subscriber(app, "ben@example.org", "Ben")
    pauses.pause(app.engine, "x", utcnow() + timedelta(days=1), "rate limited")
    return app


@pytest.fixture
def client(desk: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(desk)) as test_client:
        yield test_client


def post_forms(html: str) -> list[str]:
    """The action of every form on the page that posts."""
    return re.findall(r'<form\b[^>]*method="post"[^>]*action="([^"]+)"', html)


def test_no_desk_page_says_utc_when_the_desk_is_in_london(desk: App, client: TestClient) -> None:
    assert desk.settings.digest.timezone == "Europe/London"
    csrf = signed_in(desk, client, "/desk")  # an admin: every page opens
    # Changes whose activity rows carry a time: a schedule, a post held then released.
    edition = re.search(r'name="edition" value="([^"]+)"', client.get("/desk/digest").text)
    assert edition, "no upcoming edition"
    form = {"csrf_token": csrf, "newsletter": "", "edition": edition.group(1), "send_at": "2026-11-28T09:00"}
    assert client.post("/desk/digest/schedule", data=form).status_code == 200
    held = re.search(r'action="/desk/social/(\d+)/hold"', client.get("/desk/social").text)
    assert held, "no post to hold"
    for verb in ("hold", "release"):
        answer = client.post(f"/desk/social/{held.group(1)}/{verb}", data={"csrf_token": csrf, "view": ""})
        assert answer.status_code == 200, (verb, answer.status_code)
    reader = re.search(r'href="/desk/subscribers/(\d+)"', client.get("/desk/subscribers").text)
    assert reader, "no reader's page linked"
    for page in [*PAGES, f"/desk/subscribers/{reader.group(1)}"]:
        response = client.get(page, follow_redirects=False)
        assert response.status_code == 200, (page, response.status_code)
        assert "UTC" not in response.text, (page, response.text[response.text.find("UTC") - 200 :][:400])
    record = client.get("/desk/activity").text
    assert "at 2026-11-28 09:00 GMT" in record  # the schedule, in the desk's time
    assert record.count("GMT") >= 4  # and the release, and the rows' own times
    social = client.get("/desk/social").text
    assert "Paused until" in social and "GMT" in social  # the pause and the due times, in London's time
    assert "Times are in Europe/London" in social


@pytest.mark.parametrize("page", ["/desk", "/desk/digest", "/desk/social", "/desk/social/new"])
def test_a_viewer_sees_no_forms_that_change_things_and_is_told_why(
    desk: App, client: TestClient, page: str
) -> None:
    signed_in(desk, client, page, role="viewer")
    html = client.get(page).text
    assert post_forms(html) == ["/desk/logout"]
    assert html.count(NOTE) == 1
    assert "New post" not in html and "Post now" not in html and "Send now" not in html


def test_an_editor_has_the_forms_and_no_note(desk: App, client: TestClient) -> None:
    signed_in(desk, client, "/desk", role="editor")
    assert NOTE not in client.get("/desk").text
    digest = client.get("/desk/digest").text
    assert NOTE not in digest
    assert {"/desk/digest/test", "/desk/digest/send", "/desk/digest/schedule", "/desk/digest/edit"} <= set(
        post_forms(digest)
    )
    social = client.get("/desk/social").text
    actions = post_forms(social)
    assert NOTE not in social and "New post" in social
    assert post_forms(client.get("/desk/social/new").text) == ["/desk/logout", "/desk/social/new"]
    assert sum(a.endswith("/edit") for a in actions) == 8 and sum(a.endswith("/hold") for a in actions) == 8
    assert sum(a.endswith("/post-now") for a in actions) == 8
