"""The desk's social queue through its real routes: listing, edit, hold/release and post now.

Posts come from the example feed through ingest + plan_social and leave through the real outbox and
dispatch into the file sink, so what is asserted is what a platform would receive. Most tests pin SQLite;
the post-now race against a worker runs on both databases. The clock is pinned (the ``clock`` fixture) from
ingest on, so the posts' due times are the same instant on any day.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient

from distro import outbox
from distro.app import App
from distro.channels.filesink import file_name
from distro.db import is_postgres
from distro.models import Delivery, DeliveryAttempt, DeliveryStatus, SocialPost
from distro.platforms.bluesky import length as graphemes
from distro.platforms.mastodon import length as mastodon_length
from distro.platforms.x import length as weighted_length
from distro.services.delivery import dispatch
from distro.services.ingest import ingest
from distro.services.post_now import PostNowOutcome, post_now
from distro.services.social import plan_social
from distro.web.app import create_web_app
from tests.web.desk import signed_in

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
D = Delivery.__table__  # type: ignore[attr-defined]
P = SocialPost.__table__  # type: ignore[attr-defined]
A = DeliveryAttempt.__table__  # type: ignore[attr-defined]


ARTICLES = 4  # of the example feed's 12 (the rest is back catalogue): planning costs X's length counting


@pytest.fixture
def planned(app: App, clock: time_machine.Traveller) -> App:
    ingest(app, backfill=ARTICLES)
    assert plan_social(app) == 2 * ARTICLES  # X and Facebook (the default accounts)
    return app


@pytest.fixture
def client(planned: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(planned)) as test_client:
        yield test_client


def posts(app: App, channel: str) -> list[Any]:
    """The channel's delivery rows with their post's text and body, in delivery order."""
    query = (
        sa.select(D.c.id, D.c.key, D.c.status, D.c.lease_owner, P.c.text, P.c.body)
        .select_from(D.join(P, P.c.id == D.c.social_post_id))
        .where(D.c.channel == channel)
        .order_by(D.c.id)
    )
    with app.engine.connect() as connection:
        return list(connection.execute(query))


def row(app: App, delivery_id: int) -> Any:
    return next(r for r in posts(app, "x") + posts(app, "facebook") if r.id == delivery_id)


def sent_files(app: App, platform: str) -> list[Path]:
    return sorted((app.settings.social_dir / platform).glob("*.json"))


def sent_body(app: App, platform: str, key: str) -> Any:
    return json.loads((app.settings.social_dir / platform / file_name(key, ".json")).read_text())


def act(client: TestClient, csrf: str, delivery_id: int | str, verb: str, **fields: str) -> Any:
    """POST a queue action and follow its redirect back to the page."""
    return client.post(f"/desk/social/{delivery_id}/{verb}", data={"csrf_token": csrf, **fields})


def sent_attempts(app: App, delivery_id: int) -> int:
    with app.engine.connect() as connection:
        query = sa.select(sa.func.count()).where(A.c.delivery_id == delivery_id, A.c.outcome == "sent")
        return int(connection.execute(query).scalar_one())


@SQLITE
def test_the_page_shows_each_post_as_sent_with_its_platform_length(
    app: App, clock: time_machine.Traveller
) -> None:
    app.settings.mastodon.enabled = app.settings.bluesky.enabled = True
    app.settings.mastodon.max_length = 450
    ingest(app, backfill=ARTICLES)
    assert plan_social(app) == 4 * ARTICLES
    with TestClient(create_web_app(app)) as client:
        signed_in(app, client, "/desk/social")
        html = unescape(client.get("/desk/social").text)
    for heading in ("X · main", "Facebook · page", "Mastodon · main", "Bluesky · main"):
        assert heading in html
    x_post = posts(app, "x")[0]
    assert x_post.body == {"text": x_post.text}
    assert f"{x_post.text}</textarea>" in html  # the text exactly as the body sends it
    assert f">{weighted_length(x_post.text)}/280<" in html
    assert weighted_length(x_post.text) != len(x_post.text)  # links count 23: the label is X's count
    facebook = posts(app, "facebook")[0]
    assert f">{len(facebook.body['message'])} characters<" in html
    with app.engine.connect() as connection:
        others = dict(
            connection.execute(
                sa.select(P.c.platform, P.c.text).where(P.c.platform.in_(["mastodon", "bluesky"]))
            ).all()
        )
    assert f">{mastodon_length(others['mastodon'])}/450<" in html
    assert f">{graphemes(others['bluesky'])}/300<" in html
    with app.engine.connect() as connection:
        title, url = connection.execute(
            sa.text("select title, url from article where id = (select min(article_id) from socialpost)")
        ).one()
    assert f'<a href="{url}" rel="noopener noreferrer">{title}</a>' in html
    # Times in the desk's timezone (the main digest's, Europe/London: GMT in winter), as on the dashboard.
    assert "Times are in Europe/London." in html and " GMT" in html and "due " in html


@SQLITE
def test_edit_changes_the_stored_body_and_what_the_sink_sends(client: TestClient, planned: App) -> None:
    csrf = signed_in(planned, client, "/desk/social")
    x_post, other = posts(planned, "x")[:2]
    text = "Read this now:\r\nhttps://meridian-review.example/x #Security"
    page = act(client, csrf, x_post.id, "edit", text=text)
    assert page.status_code == 200 and "Saved the new text of the X post of main." in page.text
    expected = "Read this now:\nhttps://meridian-review.example/x #Security"  # the form's CRLF is LF again
    stored = row(planned, x_post.id)
    assert (stored.text, stored.body) == (expected, {"text": expected})
    assert row(planned, other.id).text == other.text  # only that post changed
    # A held post can be edited too (hold, fix, release is the point of holding).
    act(client, csrf, other.id, "hold")
    assert act(client, csrf, other.id, "edit", text="Held and fixed https://x.example/a").status_code == 200
    assert row(planned, other.id).body == {"text": "Held and fixed https://x.example/a"}
    dispatch(planned, ["x"])
    assert sent_body(planned, "x", x_post.key) == {"text": expected}
    assert not (planned.settings.social_dir / "x" / file_name(other.key, ".json")).exists()  # held
    # A sent post cannot change any more.
    late = act(client, csrf, x_post.id, "edit", text="too late")
    assert late.status_code == 422 and "is already sent; it cannot change" in late.text
    assert row(planned, x_post.id).text == expected


@SQLITE
def test_refusals_change_nothing_and_say_why(client: TestClient, planned: App) -> None:
    csrf = signed_in(planned, client, "/desk/social")
    x_post = posts(planned, "x")[0]
    draft = "界" * 141  # 282 weighted: over X's 280 although only 141 characters
    page = act(client, csrf, x_post.id, "edit", text=draft)
    assert page.status_code == 422
    assert "Not saved: the text is 282 long as x counts it; the limit is 280." in page.text
    assert f"{draft}</textarea>" in page.text  # the editor's draft is kept to shorten
    stored = row(planned, x_post.id)
    assert (stored.text, stored.body) == (x_post.text, x_post.body)
    empty = act(client, csrf, x_post.id, "edit", text="   ")
    assert empty.status_code == 422 and "the text is empty" in empty.text
    # Unknown ids and emails get a message, never an error page.
    outbox.enqueue_many(
        planned.engine, [{"key": "test:1:ed@example.org", "channel": "email", "recipient": "ed"}]
    )
    with planned.engine.connect() as connection:
        email_id = connection.execute(sa.select(D.c.id).where(D.c.channel == "email")).scalar_one()
    for verb in ("hold", "release", "post-now"):
        page = act(client, csrf, 9999, verb)
        assert page.status_code == 200 and "no delivery 9999" in page.text
        page = act(client, csrf, email_id, verb)
        assert f"delivery {email_id} is not a social post (channel email)" in page.text
        assert "no delivery &#39;abc&#39;" in act(client, csrf, "abc", verb).text
    assert "no delivery 9999" in act(client, csrf, 9999, "edit", text="hello").text
    with planned.engine.connect() as connection:
        assert connection.execute(sa.select(D.c.status).where(D.c.id == email_id)).scalar_one() == "pending"


@SQLITE
def test_hold_keeps_a_post_from_dispatch_and_release_lets_it_go(client: TestClient, planned: App) -> None:
    csrf = signed_in(planned, client, "/desk/social")
    held = posts(planned, "facebook")[0]
    assert "Held the Facebook post of page" in act(client, csrf, held.id, "hold").text
    assert "was already held" in act(client, csrf, held.id, "hold").text
    assert row(planned, held.id).status == DeliveryStatus.HELD
    assert dispatch(planned, ["facebook"])["facebook"].sent == ARTICLES - 1
    assert row(planned, held.id).status == DeliveryStatus.HELD
    assert file_name(held.key, ".json") not in {p.name for p in sent_files(planned, "facebook")}
    page = act(client, csrf, held.id, "release")
    assert "Released the Facebook post of page: it goes out at" in page.text
    assert dispatch(planned, ["facebook"])["facebook"].sent == 1
    assert row(planned, held.id).status == DeliveryStatus.SENT
    assert sent_body(planned, "facebook", held.key) == held.body
    assert "cannot hold delivery" in act(client, csrf, held.id, "hold").text  # sent: nothing to hold


@SQLITE
def test_post_now_sends_exactly_that_post(client: TestClient, planned: App) -> None:
    csrf = signed_in(planned, client, "/desk/social")
    x_post = posts(planned, "x")[3]
    page = act(client, csrf, x_post.id, "post-now")
    assert "The X post of main was sent." in page.text
    assert [p.name for p in sent_files(planned, "x")] == [file_name(x_post.key, ".json")]
    assert sent_body(planned, "x", x_post.key) == x_post.body
    assert [r.status for r in posts(planned, "x")].count(DeliveryStatus.SENT) == 1
    assert row(planned, x_post.id).status == DeliveryStatus.SENT and sent_attempts(planned, x_post.id) == 1
    assert "is already sent; only queued posts can go now" in act(client, csrf, x_post.id, "post-now").text
    assert sent_attempts(planned, x_post.id) == 1
    # A held Facebook post goes out at once too: post now lifts the hold.
    facebook = posts(planned, "facebook")[2]
    act(client, csrf, facebook.id, "hold")
    assert "The Facebook post of page was sent." in act(client, csrf, facebook.id, "post-now").text
    assert [p.name for p in sent_files(planned, "facebook")] == [file_name(facebook.key, ".json")]
    assert row(planned, facebook.id).status == DeliveryStatus.SENT
    assert all(r.status == DeliveryStatus.PENDING for r in posts(planned, "facebook") if r.id != facebook.id)
    # A refusal is reported with its reason, and the failed post stays on the page with its error.
    broken = posts(planned, "facebook")[0]
    shutil.rmtree(planned.settings.social_dir / "facebook")
    (planned.settings.social_dir / "facebook").write_text("a file where the sink wants a directory")
    page = act(client, csrf, broken.id, "post-now")
    assert "The Facebook post of page failed: cannot write" in unescape(page.text)
    assert row(planned, broken.id).status == DeliveryStatus.FAILED
    assert f'id="post-{broken.id}"' in page.text and "Last error: cannot write" in unescape(page.text)
    assert "is already failed; only queued posts can go now" in act(client, csrf, broken.id, "post-now").text


def test_post_now_never_sends_a_post_a_worker_holds(client: TestClient, planned: App) -> None:
    csrf = signed_in(planned, client, "/desk/social")
    claimed = outbox.claim(planned.engine, channel="x", worker="worker-b", limit=1, lease_seconds=300)
    assert len(claimed) == 1
    taken = claimed[0].id
    page = act(client, csrf, taken, "post-now")
    assert "is being sent by a worker (worker-b)" in page.text and "nothing was sent from here" in page.text
    assert sent_files(planned, "x") == [] and row(planned, taken).lease_owner == claimed[0].lease  # untouched
    outbox.record(
        planned.engine,
        [outbox.Outcome(claimed[0], "sent", provider_id="1")],  # type: ignore[arg-type]
        worker="worker-b",
        settings=planned.settings.dispatch,
    )
    assert sent_attempts(planned, taken) == 1 and row(planned, taken).status == DeliveryStatus.SENT
    if is_postgres(planned.engine):
        # A worker in the middle of claiming holds the row locked: the desk's claim skips it, not waits.
        other = posts(planned, "x")[1].id
        with planned.engine.connect() as worker:
            worker.execute(sa.select(D.c.id).where(D.c.id == other).with_for_update())
            assert (
                outbox.claim(
                    planned.engine, channel="x", worker="desk", limit=1, lease_seconds=60, ids=[other]
                )
                == []
            )
            worker.rollback()
    # Racing a real dispatch run for the same post: exactly one of them sends it.
    target = posts(planned, "x")[2].id
    results: list[Any] = []
    start = threading.Barrier(2)

    def desk() -> None:
        start.wait()
        try:
            results.append(post_now(planned, target).outcome)
        except ValueError as exc:  # the worker was quicker than our first look
            results.append(str(exc))

    def worker() -> None:
        start.wait()
        dispatch(planned, ["x"])

    threads = [threading.Thread(target=desk), threading.Thread(target=worker)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[0] in (
        PostNowOutcome.SENT,
        PostNowOutcome.BUSY,
        f"delivery {target} is already sent; only queued posts can go now",
    )
    assert sent_attempts(planned, target) == 1 and row(planned, target).status == DeliveryStatus.SENT


@SQLITE
def test_sign_in_and_the_csrf_token_are_required(client: TestClient, planned: App) -> None:
    page = client.get("/desk/social", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/desk/login?next=%2Fdesk%2Fsocial"
    x_post = posts(planned, "x")[0]
    assert client.post(f"/desk/social/{x_post.id}/post-now", data={"csrf_token": "x"}).status_code == 401
    signed_in(planned, client, "/desk/social")
    for verb, data in [
        ("edit", {"text": "Sneaky https://evil.example"}),
        ("hold", {}),
        ("post-now", {}),
        ("edit", {"text": "Sneaky", "csrf_token": "forged"}),
    ]:
        assert client.post(f"/desk/social/{x_post.id}/{verb}", data=data).status_code == 403
    stored = row(planned, x_post.id)
    assert (stored.status, stored.text, stored.body) == (DeliveryStatus.PENDING, x_post.text, x_post.body)
    assert sent_files(planned, "x") == []
