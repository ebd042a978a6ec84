"""The desk's social queue with many posts (issue 21, item 6) and its New post form (issue 18, item 8),
through the real routes: keyset pages in send order, filters by status and platform, one post per form
nonce however often it is submitted, an unfit text refused with the platform's reason and the draft kept.

SQLite, the clock pinned (Friday 2026-11-27 12:00 UTC; the desk's timezone Europe/London, GMT then).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from html import unescape
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient

from distro.app import App
from distro.models import Delivery, SocialPost
from distro.services import plan
from distro.services.custom_posts import PostRequest, create_post
from distro.web.app import create_web_app
from tests.web.desk import field, signed_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
D = Delivery.__table__  # type: ignore[attr-defined]
P = SocialPost.__table__  # type: ignore[attr-defined]
X_POSTS, FACEBOOK_POSTS = 21, 13  # 34 in all: two pages of 20 with every filter off


def platform_of(n: int) -> str:
    return "facebook" if n % 2 == 0 and n < 2 * FACEBOOK_POSTS else "x"


def fill_queue(app: App) -> list[int]:
    """34 written posts, due one every 10 minutes from 13:00 GMT, X and Facebook interleaved."""
    ids = []
    start = datetime(2026, 11, 27, 13, 0)
    for n in range(X_POSTS + FACEBOOK_POSTS):
        platform = platform_of(n)
        at = (start + timedelta(minutes=10 * n)).strftime("%Y-%m-%d %H:%M")
        request = PostRequest(platform, f"Post number {n} https://meridian-review.example/{n}", at=at)
        ids.append(create_post(app, request, actor="cli").delivery_id)
    return ids


@pytest.fixture
def client(app: App, clock: time_machine.Traveller) -> Iterator[TestClient]:
    with TestClient(create_web_app(app)) as test_client:
        yield test_client


def shown(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="card post" id="post-(\d+)"', html)]


def later(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" id="page-later"', html)
    return unescape(found.group(1)) if found else None


def earlier(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" id="page-earlier"', html)
    return unescape(found.group(1)) if found else None


def platforms_of(app: App, ids: list[int]) -> set[str]:
    query = sa.select(P.c.platform).select_from(D.join(P, P.c.id == D.c.social_post_id))
    with app.engine.connect() as connection:
        return set(connection.execute(query.where(D.c.id.in_(ids))).scalars())


def test_the_queue_pages_in_send_order_and_filters(app: App, client: TestClient) -> None:
    ids = fill_queue(app)
    x_ids = [i for n, i in enumerate(ids) if platform_of(n) == "x"]
    held = ids[1:4]  # two X posts and a Facebook one
    assert plan.hold(app.engine, held) == 3
    signed_in(app, client, "/desk/social")
    first = client.get("/desk/social").text
    assert shown(first) == ids[:20] and earlier(first) is None
    assert "34 posts; 20 on this page." in first
    assert 'X · main</strong> <span class="muted">(21 posts; 19 pending; 2 held)' in unescape(first)
    assert 'Facebook · page</strong> <span class="muted">(13 posts; 12 pending; 1 held)' in unescape(first)
    second = client.get(later(first) or "").text
    assert shown(second) == ids[20:] and later(second) is None
    back = client.get(earlier(second) or "").text
    assert shown(back) == ids[:20]

    facebook = client.get("/desk/social", params={"platform": "facebook"}).text
    assert len(shown(facebook)) == FACEBOOK_POSTS and platforms_of(app, shown(facebook)) == {"facebook"}
    assert later(facebook) is None and f"{FACEBOOK_POSTS} posts match the filter" in facebook
    x_page = client.get("/desk/social", params={"platform": "x"}).text
    assert len(shown(x_page)) == 20 and platforms_of(app, shown(x_page)) == {"x"}
    assert shown(x_page) == x_ids[:20] and "platform=x" in (later(x_page) or "")
    rest = client.get(later(x_page) or "").text
    assert shown(rest) == x_ids[20:] and later(rest) is None
    only_held = client.get("/desk/social", params={"status": "held"}).text
    assert shown(only_held) == held and "3 posts match the filter" in only_held
    assert client.get("/desk/social", params={"status": "failed"}).text.count('class="card post"') == 0

    wrong = client.get("/desk/social", params={"status": "lost"})
    assert wrong.status_code == 400 and "unknown status &#39;lost&#39;" in wrong.text
    forged = client.get("/desk/social", params={"after": "yesterday-1"})
    assert forged.status_code == 400 and shown(forged.text) == ids[:20]


def test_an_action_on_page_two_comes_back_to_page_two(app: App, client: TestClient) -> None:
    ids = fill_queue(app)
    csrf = signed_in(app, client, "/desk/social")
    second_url = later(client.get("/desk/social", params={"platform": "x"}).text) or ""
    second = client.get(second_url).text
    target = shown(second)[0]
    view = unescape(field(second, "view"))
    response = client.post(
        f"/desk/social/{target}/hold", data={"csrf_token": csrf, "view": view}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/desk/social?{view}#post-{target}"
    assert target in shown(client.get(response.headers["location"]).text) and target in ids


def form_fields(html: str) -> dict[str, str]:
    return {"csrf_token": field(html, "csrf_token"), "key": field(html, "key")}


def test_the_new_post_form_queues_one_post_however_often_it_is_sent(app: App, client: TestClient) -> None:
    signed_in(app, client, "/desk/social/new")
    page = client.get("/desk/social/new").text
    assert (
        "(Europe/London; empty: now)" in page and 'value="x/main"' in page and 'value="facebook/page"' in page
    )
    data = {
        **form_fields(page),
        "account": "x/main",
        "text": "We are hiring a data reporter.\r\nApply by Friday.",
        "link": "https://meridian-review.example/jobs",
        "story": "",
        "at": "2026-11-28T09:00",
    }
    first = client.post("/desk/social/new", data=data, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/desk/social#post-")
    queue = client.get(first.headers["location"]).text
    assert "Queued the X post of main: it goes out at 2026-11-28 09:00 GMT." in queue
    assert "Announcement" in queue
    again = client.post("/desk/social/new", data=data)  # the same form sent again (a double click)
    assert "was already queued" in again.text and "nothing was added" in again.text
    with app.engine.connect() as connection:
        rows = connection.execute(sa.select(P.c.text, P.c.custom_key)).all()
    assert rows == [
        (
            "We are hiring a data reporter.\nApply by Friday.\n\nhttps://meridian-review.example/jobs",
            f"desk-{data['key']}",
        )
    ]
    assert form_fields(client.get("/desk/social/new").text)["key"] != data["key"]  # a new form, a new key


def test_an_unfit_text_is_refused_on_the_desk_and_the_draft_kept(app: App, client: TestClient) -> None:
    signed_in(app, client, "/desk/social/new")
    page = client.get("/desk/social/new").text
    text = "A very long announcement " * 12  # 300 characters
    data = {**form_fields(page), "account": "x/main", "text": text, "link": "", "story": "", "at": ""}
    refused = client.post("/desk/social/new", data=data)
    assert refused.status_code == 422
    assert "Not queued: the text is 299 long as x counts it; the limit is 280." in refused.text
    assert f">{text.strip()}</textarea>" in refused.text and field(refused.text, "key") == data["key"]
    with app.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(P)).scalar_one() == 0
    fixed = client.post(
        "/desk/social/new", data={**data, "text": "A short announcement"}, follow_redirects=False
    )
    assert fixed.status_code == 303  # the same key, now with a text that fits: one post


def test_a_new_post_without_the_forms_token_changes_nothing(app: App, client: TestClient) -> None:
    signed_in(app, client, "/desk/social/new")
    page = client.get("/desk/social/new").text
    data: dict[str, Any] = {
        "key": field(page, "key"),
        "account": "x/main",
        "text": "Hi",
        "csrf_token": "forged",
    }
    assert client.post("/desk/social/new", data=data).status_code == 403
    with app.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(P)).scalar_one() == 0
