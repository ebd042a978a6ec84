"""Threads and LinkedIn accounts through the same outbox as every platform: sections, templates, posting
plans, holds, editor edits and the file sink (file mode, the default), from the example feed.

The clock is pinned (the ``clock`` fixture) from ingest on, so each post's slot is the same on any day.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from distro.app import App, build_app
from distro.channels.filesink import file_name
from distro.db import upgrade
from distro.models import Delivery, SocialPost
from distro.platforms import linkedin, threads
from distro.services import plan
from distro.services.delivery import dispatch
from distro.services.ingest import ingest
from distro.services.social import edit_post, plan_social
from distro.services.social_queue import social_queue
from distro.settings import PostingPlan, Settings, SocialAccountSettings


@pytest.fixture
def planned(settings: Settings, clock: time_machine.Traveller) -> App:
    settings.x.enabled = settings.facebook.enabled = False
    settings.threads.enabled = settings.linkedin.enabled = True
    settings.threads.posting = PostingPlan(delay_minutes=30)
    settings.threads.accounts = [SocialAccountSettings(name="security", sections=["Security"])]
    settings.linkedin.accounts = [
        SocialAccountSettings(name="security", sections=["Security"], organization_id="2414183")
    ]
    app = build_app(settings)
    upgrade(app.engine)
    ingest(app)
    return app


def rows(app: App, channel: str) -> list[tuple[str, dict[str, object], datetime, str]]:
    with app.engine.connect() as c:
        query = (
            sa.select(Delivery.key, SocialPost.body, Delivery.next_attempt_at, Delivery.status)  # type: ignore[call-overload]
            .join(SocialPost, SocialPost.id == Delivery.social_post_id)
            .where(Delivery.channel == channel)
            .order_by(Delivery.id)
        )
        return [tuple(r) for r in c.execute(query)]


def test_each_account_is_planned_with_its_sections_plan_and_body(
    planned: App, clock: time_machine.Traveller
) -> None:
    created = plan_social(planned)
    assert planned.enabled_channels() == [
        "email",
        "threads",
        "threads:security",
        "linkedin",
        "linkedin:security",
    ]
    main, security = rows(planned, "threads"), rows(planned, "threads:security")
    assert len(main) == 12 and 0 < len(security) < 12 and created == 24 + 2 * len(security)
    assert len(rows(planned, "linkedin:security")) == len(security)
    now = datetime.now(UTC)
    assert {when for _, _, when, _ in main} == {now + timedelta(minutes=30)}  # threads.posting
    assert {when for _, _, when, _ in security} == {now}  # its own (default) plan
    for _, body, _, _ in main:
        assert body["media_type"] == "TEXT" and threads.problem(body) is None
        assert body["link_attachment"] in str(body["text"])  # the preview card's link, counted once
        assert "utm_source=threads" in str(body["link_attachment"])
    for _, body, _, _ in rows(planned, "linkedin"):
        assert body["author"] == "urn:li:organization:100000001"
        assert "utm_source=linkedin" in str(linkedin.link_of(body)) and len(str(body["commentary"])) <= 3000
    assert {body["author"] for _, body, _, _ in rows(planned, "linkedin:security")} == {
        "urn:li:organization:2414183"
    }
    assert plan_social(planned) == 0  # idempotent


def test_the_file_sink_writes_the_exact_bodies_and_an_edit_keeps_card_and_link(
    planned: App, clock: time_machine.Traveller
) -> None:
    plan_social(planned)
    key, body, _, _ = rows(planned, "linkedin")[0]
    article_id = int(key.split(":")[1])
    assert edit_post(planned, article_id, "linkedin", "Our desk (and yours): read on #Economy", "page") == 1
    t_key, t_body, _, _ = rows(planned, "threads")[0]
    assert edit_post(planned, int(t_key.split(":")[1]), "threads", "Shorter 🧵 text", "main") == 1
    clock.shift(timedelta(minutes=31))
    reports = dispatch(planned, ["threads", "threads:security", "linkedin"])
    assert reports["threads"].sent == 12 and reports["linkedin"].sent == 12
    social = planned.settings.social_dir
    written = json.loads((social / "linkedin" / file_name(key, ".json")).read_text())
    assert written == {**body, "commentary": "Our desk \\(and yours\\): read on #Economy"}
    assert written["content"] == body["content"]  # the article card survived the edit
    sent_threads = json.loads((social / "threads" / file_name(t_key, ".json")).read_text())
    assert sent_threads == {
        "media_type": "TEXT",
        "text": "Shorter 🧵 text",
        "link_attachment": t_body["link_attachment"],
    }
    assert len(list((social / "threads").glob("*.json"))) == 12 + len(rows(planned, "threads:security"))


def test_holds_work_and_the_desk_shows_the_text_readers_see(planned: App) -> None:
    plan_social(planned)
    key, body, _, _ = rows(planned, "linkedin")[0]
    ids = plan.find_deliveries(planned.engine, article_id=int(key.split(":")[1]), platform="linkedin")
    assert plan.hold(planned.engine, ids[:1]) == 1
    assert dispatch(planned, ["linkedin"])["linkedin"].sent == 11
    queue = {q.channel: q for q in social_queue(planned)}
    held = queue["linkedin"].posts
    assert [p.status for p in held] == ["held"] and held[0].text == linkedin.text_of(body)
    assert held[0].length == len(str(body["commentary"])) and held[0].limit == 3000
    pending = queue["threads"].posts[0]
    assert pending.limit == 500 and pending.length == threads.length(pending.text)
    assert queue["threads"].problem is None and queue["threads"].paused is None
