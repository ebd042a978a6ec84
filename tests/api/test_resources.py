"""Each resource of /api/v1 through HTTP, on SQLite and PostgreSQL, against the use cases it shares with
the command line and the desk: articles stored as the CMS webhook stores them, subscribers created active
or through the double opt-in, the upcoming edition previewed, scheduled and sent to the outbox, the log
filtered, suppressions kept, problems for what cannot be done, and lists walked with cursors."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from distro.db import session_scope
from distro.models import Article, Delivery, OneOffMessage, Signup, Subscriber
from distro.services.digest_calendar import digest_slug, upcoming_at
from distro.services.digest_compose import open_edition
from distro.services.digest_preview import render_preview
from distro.services.ingest import ingest
from distro.store import editions
from tests.api.conftest import Api, problem_of
from tests.conftest import FRIDAY

STORY = {
    "url": "https://mag.example/2026/11/story",
    "title": "Breaking <script>alert(1)</script><b>news</b>",
    "summary": "<p>Summary</p>",
    "categories": ["Security"],
    "updated_at": "2026-11-26T10:00:00+00:00",
}


def walk(api: Api, path: str, limit: int) -> list[list[int]]:
    """Every page of a list as the ids it holds, following next_cursor to the end."""
    pages, cursor = [], None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(path + query, token=api.read).json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_articles_are_stored_as_the_webhook_stores_them(api: Api) -> None:
    created = api.post("/articles", json=STORY)
    assert created.status_code == 201 and created.json()["outcome"] == "new"
    article = created.json()["article"]
    assert article["title"] == "Breaking news" and article["section"] == "Security"  # sanitised
    older = {**STORY, "title": "An older version", "updated_at": "2026-11-25T10:00:00+00:00"}
    again = api.post("/articles", json=older)
    assert again.status_code == 200 and again.json()["outcome"] == "stale"
    assert api.get(f"/articles/{article['id']}", token=api.read).json()["title"] == "Breaking news"
    newer = {**STORY, "title": "Updated", "updated_at": "2026-11-27T10:00:00+00:00"}
    assert api.post("/articles", json=newer).json()["outcome"] == "updated"
    assert "absolute http(s) URL" in problem_of(api.post("/articles", json={"url": "ftp://x"}), 422)["detail"]
    with session_scope(api.app.engine) as session:
        assert [a.title for a in session.exec(select(Article))] == ["Updated"]
    problem_of(api.get("/articles/999", token=api.read), 404)


def test_lists_page_by_cursor_and_refuse_a_made_up_one(api: Api) -> None:
    for number in range(5):
        assert api.post("/articles", json={"url": f"https://mag.example/{number}"}).status_code == 201
    assert walk(api, "/articles", 2) == [[1, 2], [3, 4], [5]]
    assert walk(api, "/articles", 5) == [[1, 2, 3, 4, 5]]
    assert problem_of(api.get("/articles?cursor=aWQ6LTE", token=api.read), 422)["detail"].startswith(
        "bad cursor"
    )
    invalid = problem_of(api.get("/articles?limit=500", token=api.read), 422)
    assert invalid["errors"][0]["loc"] == ["query", "limit"]
    problem_of(api.get("/nowhere", token=api.read), 404)
    problem_of(api.get("/nowhere%0Aelse", token=api.read), 404)  # still the API's, not the web app's
    problem_of(api.get("/articles/2147483647", token=api.read), 404)  # the largest INTEGER id
    assert problem_of(api.get("/articles/2147483648", token=api.read), 422)["errors"][0]["loc"] == [
        "path",
        "article_id",
    ]
    assert "NUL" in problem_of(api.get("/subscribers?address=a%00b", token=api.read), 422)["detail"]
    assert (
        "NUL"
        in problem_of(api.post("/suppressions", json={"email": "a@b.org", "detail": "\x00"}), 422)["detail"]
    )
    problem_of(api.call("PUT", "/articles"), 405)


def test_subscribers_created_at_once_or_through_the_opt_in(api: Api) -> None:
    created = api.post(
        "/subscribers", json={"email": "Ana@Example.org", "name": "Ana", "sections": ["security"]}
    )
    assert created.status_code == 201
    assert created.json() | {"created_at": None} == {
        "id": 1,
        "email": "Ana@example.org",  # the domain normalised, the local part as given
        "name": "Ana",
        "status": "active",
        "sections": ["Security"],
        "newsletters": None,
        "created_at": None,
        "unsubscribed_at": None,
        "paused_until": None,
        "hard_bounces": 0,
    }
    assert (
        "already known"
        in problem_of(api.post("/subscribers", json={"email": "ana@example.org"}), 409)["detail"]
    )
    assert problem_of(api.post("/subscribers", json={"email": "not an address"}), 422)
    asked = api.post("/subscribers", json={"email": "bo@example.org", "confirm": True})
    assert asked.status_code == 202 and asked.json()["queued"] is True
    with session_scope(api.app.engine) as session:
        assert [s.email for s in session.exec(select(Subscriber))] == ["Ana@example.org"]  # not bo yet
        assert [s.email for s in session.exec(select(Signup))] == ["bo@example.org"]
        assert [m.recipient for m in session.exec(select(OneOffMessage))] == ["bo@example.org"]
    changed = api.patch("/subscribers/1", json={"pause_weeks": 2})
    assert changed.json()["sections"] == ["Security"]  # left out: kept
    assert changed.json()["paused_until"].startswith((FRIDAY + timedelta(weeks=2)).date().isoformat())
    assert (
        "unknown section 'Tech'"
        in problem_of(api.patch("/subscribers/1", json={"sections": ["Tech"]}), 422)["detail"]
    )
    assert api.patch("/subscribers/1", json={"sections": None}).json()["sections"] is None
    assert api.get("/subscribers?paused=true", token=api.read).json()["items"][0]["id"] == 1
    assert api.post("/subscribers/1/unsubscribe").json()["status"] == "unsubscribed"
    assert api.get("/subscribers?status=active", token=api.read).json()["items"] == []
    assert api.get("/subscribers?address=ANA", token=api.read).json()["items"][0]["status"] == "unsubscribed"
    assert api.delete("/subscribers/1").json()["forgotten"]["subscriber"] == 1
    problem_of(api.get("/subscribers/1", token=api.read), 404)
    problem_of(api.delete("/subscribers/1"), 404)


def test_the_upcoming_edition_is_previewed_and_sent(api: Api) -> None:
    app = api.app
    ingest(app, backfill=4)
    for email in ("ana@example.org", "bo@example.org"):
        assert api.post("/subscribers", json={"email": email}).status_code == 201
    newsletter = app.settings.digest
    slug = digest_slug(newsletter, upcoming_at(app, newsletter))
    upcoming = api.get("/editions/upcoming", token=api.read).json()
    assert upcoming == {"newsletter": "weekly", "slug": slug, "composed": False}
    problem_of(api.get(f"/editions/{slug}", token=api.read), 404)  # not composed yet
    refused = problem_of(api.post("/editions/weekly-2026-W01/send"), 409)
    assert refused["detail"].startswith(f"weekly-2026-W01 is not the edition to send now; {slug} is")
    problem_of(api.post("/editions/daily-2026-W01/send"), 404)  # no such newsletter
    sent = api.post(f"/editions/{slug}/send")
    assert sent.status_code == 200
    assert {k: v for k, v in sent.json().items() if k != "warnings"} == {
        "slug": slug,
        "queued": 2,
        "recipients": 2,
    }
    digest = editions.find(app.engine, slug)
    assert digest is not None
    copy = api.get(f"/editions/{slug}/preview?subscriber=ana@example.org", token=api.read)
    assert copy.headers["content-type"] == "text/html; charset=utf-8"
    assert copy.content == render_preview(app, newsletter, digest, email="ana@example.org").html
    text = api.get(f"/editions/{slug}/preview?part=text", token=api.read)
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.content == render_preview(app, newsletter, digest).text
    problem_of(api.get(f"/editions/{slug}/preview?subscriber=nobody@example.org", token=api.read), 404)
    detail = api.get(f"/editions/{slug}", token=api.read).json()
    assert (detail["status"], detail["recipients"]) == ("queued", 2)
    assert (detail["counts"]["pending"], detail["counts"]["sent"]) == (2, 0)
    logged = api.get(f"/deliveries?edition={slug}&recipient=ANA", token=api.read).json()["items"]
    assert [(d["recipient"], d["status"], d["edition"]) for d in logged] == [
        ("ana@example.org", "pending", slug)
    ]
    assert api.get("/deliveries?status=sent", token=api.read).json()["items"] == []
    history = api.get("/subscribers/1", token=api.read).json()["history"]
    assert [(h["edition"], h["status"]) for h in history] == [(slug, "pending")]
    assert api.get(f"/reports/editions/{slug}", token=api.read).json()["recipients"] == 2
    late = api.post(f"/editions/{slug}/schedule", json={"send_at": "2026-12-30T07:00:00Z"})
    assert "already queued" in problem_of(late, 409)["detail"]
    with session_scope(app.engine) as session:
        assert len(list(session.exec(select(Delivery)))) == 2


def test_an_edition_is_scheduled_by_hand_and_back(api: Api) -> None:
    app = api.app
    ingest(app, backfill=4)
    slug = api.get("/editions/upcoming", token=api.read).json()["slug"]
    problem_of(api.post(f"/editions/{slug}/schedule", json={"send_at": "2026-11-29T18:00:00Z"}), 404)
    open_edition(app, app.settings.digest, at=upcoming_at(app, app.settings.digest))
    listed = api.get("/editions?status=composed", token=api.read).json()["items"]
    assert [e["slug"] for e in listed] == [slug]
    assert api.get("/editions?status=queued", token=api.read).json()["items"] == []
    past = api.post(f"/editions/{slug}/schedule", json={"send_at": "2026-11-01T07:00:00Z"})
    assert "in the past" in problem_of(past, 422)["detail"]
    naive = api.post(f"/editions/{slug}/schedule", json={"send_at": "2026-11-29T18:00:00"})
    assert problem_of(naive, 422)["errors"][0]["loc"] == ["body", "send_at"]
    scheduled = api.post(f"/editions/{slug}/schedule", json={"send_at": "2026-11-29T19:00:00+01:00"})
    assert scheduled.json() == {"slug": slug, "send_at": "2026-11-29T18:00:00Z"}
    edit = editions.load_edit(app.engine, slug)
    assert edit is not None and edit.send_at == FRIDAY + timedelta(days=2, hours=6)
    assert api.delete(f"/editions/{slug}/schedule").json() == {"slug": slug, "send_at": None}
    edit = editions.load_edit(app.engine, slug)
    assert edit is not None and edit.send_at is None


def test_suppressions_are_added_listed_and_removed(api: Api) -> None:
    added = api.post("/suppressions", json={"email": "Spam@Example.org", "detail": "asked by phone"})
    assert added.status_code == 201
    assert added.json() | {"created_at": None} == {
        "id": 1,
        "email": "spam@example.org",
        "reason": "manual",
        "detail": "asked by phone",
        "created_at": None,
    }
    assert (
        api.post("/suppressions", json={"email": "spam@example.org", "reason": "complaint"}).status_code
        == 200
    )
    assert (
        "suppression list"
        in problem_of(api.post("/subscribers", json={"email": "spam@example.org"}), 422)["detail"]
    )
    assert api.get("/suppressions?reason=complaint", token=api.read).json()["items"] == []
    assert [s["reason"] for s in api.get("/suppressions", token=api.read).json()["items"]] == ["manual"]
    assert api.delete("/suppressions/SPAM@example.org").json() == {
        "email": "SPAM@example.org",
        "removed": True,
    }
    problem_of(api.delete("/suppressions/spam@example.org"), 404)
    assert api.post("/subscribers", json={"email": "spam@example.org"}).status_code == 201
