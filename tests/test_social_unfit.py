"""A post that cannot fit its platform is that article's failure, never the run's (issue 18, item 1).

A hostile title (15 URLs) cannot be cut to X's 280: the post is stored as a failed delivery naming the
article, every other article and platform is queued and sent, and an edit that fits queues it again."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient

from distro.app import App
from distro.models import Article, Delivery, DeliveryStatus, SocialPost
from distro.services.delivery import dispatch
from distro.services.ingest import ingest
from distro.services.social import edit_post, plan_social
from distro.web.app import create_web_app
from tests.web.desk import signed_in

D = Delivery.__table__  # type: ignore[attr-defined]
P = SocialPost.__table__  # type: ignore[attr-defined]
ARTICLES = 3
URLS = " ".join(f"https://meridian-review.example/story-number-{i}" for i in range(15))


def hostile(app: App) -> int:
    """Ingest, then give the first article a title of 15 URLs; returns its id."""
    ingest(app, backfill=ARTICLES)
    with app.engine.begin() as connection:
        first = connection.execute(sa.select(sa.func.min(Article.id))).scalar_one()  # type: ignore[arg-type]
        connection.execute(sa.update(Article).where(Article.id == first).values(title=URLS))  # type: ignore[arg-type]
    return int(first)


def rows(app: App) -> list[Any]:
    query = sa.select(D.c.id, D.c.channel, D.c.status, D.c.last_error, P.c.article_id, P.c.platform)
    with app.engine.connect() as connection:
        return list(connection.execute(query.join(P, P.c.id == D.c.social_post_id).order_by(D.c.id)))


def test_an_unfit_post_fails_alone_and_the_others_go_out(app: App, clock: time_machine.Traveller) -> None:
    article = hostile(app)
    assert plan_social(app) == 2 * ARTICLES  # X and Facebook: every row stored, the unfit one failed
    failed = [r for r in rows(app) if r.status == DeliveryStatus.FAILED]
    assert [(r.article_id, r.platform) for r in failed] == [(article, "x")]
    reason = failed[0].last_error
    assert f"article {article} (" in reason and "URLs and hashtags alone are too long" in reason
    assert "distro social edit" in reason
    assert plan_social(app) == 0  # planning again neither repeats nor raises
    reports = dispatch(app, ["x", "facebook"])
    assert reports["x"].sent == ARTICLES - 1 and reports["facebook"].sent == ARTICLES
    # The editor fixes the text: the post is queued again and goes out.
    assert edit_post(app, article, "x", "Fifteen links in one story https://meridian-review.example/a") == 1
    again = [r for r in rows(app) if r.article_id == article and r.platform == "x"]
    assert [(r.status, r.last_error) for r in again] == [(DeliveryStatus.PENDING, None)]
    assert dispatch(app, ["x"])["x"].sent == 1


def test_the_desk_shows_the_reason_and_lets_the_editor_fix_it(
    app: App, clock: time_machine.Traveller
) -> None:
    article = hostile(app)
    plan_social(app)
    failed = next(r for r in rows(app) if r.status == DeliveryStatus.FAILED)
    with TestClient(create_web_app(app)) as client:
        csrf = signed_in(app, client, "/desk/social")
        page = client.get("/desk/social")
        assert f"article {article} (" in page.text and f'id="edit-{failed.id}"' in page.text
        saved = client.post(
            f"/desk/social/{failed.id}/edit", data={"csrf_token": csrf, "text": "Fixed https://x.example/a"}
        )
        assert saved.status_code == 200 and "Saved the new text" in saved.text
    assert next(r for r in rows(app) if r.id == failed.id).status == DeliveryStatus.PENDING
