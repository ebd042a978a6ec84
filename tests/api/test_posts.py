"""Social posts through /api/v1/posts, on SQLite and PostgreSQL: the queue as the desk lists it, edit,
hold, release and post now through the same use cases, the post leaving through the outbox into the file
sink. Posts come from the example feed (ingest + plan_social) at the pinned clock."""

from __future__ import annotations

import json

from sqlmodel import select

from distro.db import session_scope
from distro.models import Activity
from distro.services.ingest import ingest
from distro.services.social import plan_social
from tests.api.conftest import Api, problem_of


def test_posts_are_listed_edited_held_released_and_posted_now(api: Api) -> None:
    app = api.app
    ingest(app, backfill=2)
    assert plan_social(app) == 4  # X and Facebook, the default accounts
    listed = api.get("/posts?limit=3", token=api.read).json()
    assert len(listed["items"]) == 3 and listed["next_cursor"]
    rest = api.get(f"/posts?cursor={listed['next_cursor']}", token=api.read).json()
    posts = listed["items"] + rest["items"]
    assert [p["id"] for p in posts] == sorted(p["id"] for p in posts) and len(posts) == 4
    x = next(p for p in posts if p["platform"] == "x")
    assert (x["status"], x["editable"], x["length"] <= x["limit"]) == ("pending", True, True)
    edited = api.patch(f"/posts/{x['id']}", json={"text": "A shorter post https://mag.example/x"})
    assert edited.status_code == 200 and edited.json()["text"] == "A shorter post https://mag.example/x"
    too_long = api.patch(f"/posts/{x['id']}", json={"text": "word " * 200})
    assert problem_of(too_long, 422)
    assert api.post(f"/posts/{x['id']}/hold").json()["status"] == "held"
    assert api.get("/posts?status=held", token=api.read).json()["items"][0]["id"] == x["id"]
    assert api.post(f"/posts/{x['id']}/release").json()["status"] == "pending"
    posted = api.post(f"/posts/{x['id']}/post-now")
    assert posted.status_code == 200
    assert (posted.json()["outcome"], posted.json()["post"]["status"]) == ("sent", "sent")
    [sent] = sorted((app.settings.social_dir / "x").glob("*.json"))
    assert "A shorter post" in json.dumps(json.loads(sent.read_text()))
    assert "already sent" in problem_of(api.post(f"/posts/{x['id']}/post-now"), 409)["detail"]
    assert "already sent" in problem_of(api.post(f"/posts/{x['id']}/hold"), 409)["detail"]
    assert "already sent" in problem_of(api.patch(f"/posts/{x['id']}", json={"text": "late"}), 409)["detail"]
    problem_of(api.get("/posts/99999", token=api.read), 404)
    with session_scope(app.engine) as session:
        done = [(a.actor, a.action) for a in session.exec(select(Activity)) if a.actor.startswith("api:")]
    assert done == [("api:cms", f"post.{verb}") for verb in ("edit", "hold", "release", "now")]


def test_a_written_post_is_edited_through_the_api_like_an_articles(api: Api) -> None:
    from distro.services.custom_posts import PostRequest, create_post

    queued = create_post(api.app, PostRequest(platform="x", text="Our new podcast is out"), actor="cli")
    edited = api.patch(f"/posts/{queued.delivery_id}", json={"text": "Our new podcast, episode 1, is out"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["text"] == "Our new podcast, episode 1, is out"
    assert problem_of(api.patch(f"/posts/{queued.delivery_id}", json={"text": "word " * 200}), 422)
