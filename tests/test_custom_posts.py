"""Posts an editor writes (issue 18, item 8): from ``distro social post`` into the HTTP-level X fake through
the outbox and dispatch, at their own time, once per key, refused with the platform's reason when they do
not fit; held, edited and posted now like an article's post; migration 0031 keeps existing posts' links.

The clock is pinned (``clock``: Friday 2026-11-27 12:00 UTC; the desk's timezone is Europe/London, GMT then).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from pydantic import SecretStr
from typer.testing import CliRunner

from distro.app import App, build_app
from distro.cli import cli
from distro.db import make_engine, upgrade
from distro.errors import InvalidInput, NotFound
from distro.models import Activity, Article, Delivery, DeliveryStatus, SocialPost
from distro.services import plan
from distro.services.custom_posts import PostRequest, create_post
from distro.services.delivery import dispatch
from distro.services.ingest import ingest
from distro.services.post_now import PostNowOutcome, post_now
from distro.services.social import edit_delivery
from distro.settings import Settings
from tests.fakes import x_api
from tests.test_dispatch import FakeChannels

D = Delivery.__table__  # type: ignore[attr-defined]
P = SocialPost.__table__  # type: ignore[attr-defined]
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
APPEAL = "Our winter appeal is open: help us keep the Review free to read."
LINK = "https://meridian-review.example/appeal"


def written(app: App) -> list[Any]:
    query = sa.select(D.c.id, D.c.key, D.c.status, D.c.next_attempt_at, D.c.channel, P.c.text, P.c.body)
    query = query.select_from(D.join(P, P.c.id == D.c.social_post_id)).where(P.c.custom_key.is_not(None))
    with app.engine.connect() as connection:
        return list(connection.execute(query.order_by(D.c.id)))


def config_of(settings: Settings, path: Path) -> Path:
    path.write_text(
        f'database_url = "{settings.database_url}"\nvar_dir = "{settings.var_dir}"\n'
        f'templates_dir = "{settings.templates_dir}"\n',
        encoding="utf-8",
    )
    return path


def x_api_settings(settings: Settings) -> None:
    settings.x.mode = "api"
    settings.x.api_key, settings.x.api_secret = (
        SecretStr(x_api.CONSUMER_KEY),
        SecretStr(x_api.CONSUMER_SECRET),
    )
    settings.x.access_token = SecretStr(x_api.ACCESS_TOKEN)
    settings.x.access_token_secret = SecretStr(x_api.ACCESS_TOKEN_SECRET)


@SQLITE
def test_the_cli_queues_once_and_dispatch_sends_at_the_time_not_before(
    settings: Settings, tmp_path: Path, clock: time_machine.Traveller
) -> None:
    config = config_of(settings, tmp_path / "distro.toml")  # the file mode's settings: queueing only
    x_api_settings(settings)
    fakes = FakeChannels(settings)
    app = build_app(settings, channels=fakes)  # the workers' side: real XChannel into the fake X API
    upgrade(app.engine)
    at = "2026-11-27 15:30"  # GMT: 15:30 UTC, three and a half hours after the pinned clock
    args = ["--config", str(config), "social", "post", "--platform", "x", "--account", "main"]
    args += ["--text", APPEAL, "--link", LINK, "--at", at, "--yes"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "x (main)" in first.output and "at 2026-11-27 15:30 GMT" in first.output
    assert "queued: delivery" in first.output
    again = CliRunner().invoke(cli, args)  # a retried command: the same options give the same key
    assert again.exit_code == 0, again.output
    assert "already queued" in again.output and "nothing added" in again.output
    [row] = written(app)
    assert row.channel == "x" and row.status == DeliveryStatus.PENDING
    assert row.next_attempt_at == datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
    assert row.body == {"text": f"{APPEAL}\n\n{LINK}"}  # the link at the end, where X shows it

    assert dispatch(app, ["x"])["x"].sent == 0  # not before its time
    clock.move_to(datetime(2026, 11, 27, 15, 29, tzinfo=UTC))
    assert dispatch(app, ["x"])["x"].sent == 0
    assert fakes.x.seen == []
    clock.move_to(datetime(2026, 11, 27, 15, 31, tzinfo=UTC))
    assert dispatch(app, ["x"])["x"].sent == 1
    [tweet] = [s.json() for s in fakes.x.seen if s.status == 201]
    assert tweet == {"text": f"{APPEAL}\n\n{LINK}"}
    assert written(app)[0].status == DeliveryStatus.SENT
    with app.engine.connect() as connection:
        actions = connection.execute(sa.select(Activity.action, Activity.actor, Activity.subject)).all()  # type: ignore[call-overload]
    assert [(a.action, a.subject) for a in actions] == [("post.create", f"post {row.id}")]
    assert actions[0].actor.startswith("cli")
    app.engine.dispose()


@SQLITE
def test_an_unfit_text_is_refused_with_the_platforms_reason_and_nothing_is_queued(
    app: App, tmp_path: Path, clock: time_machine.Traveller
) -> None:
    config = config_of(app.settings, tmp_path / "distro.toml")
    base = ["--config", str(config), "social", "post", "--platform", "x", "--yes", "--text"]
    long = CliRunner().invoke(cli, [*base, "a" * 281])
    assert isinstance(long.exception, InvalidInput)
    assert str(long.exception) == "the text is 281 long as x counts it; the limit is 280"
    emoji = CliRunner().invoke(cli, [*base, "\U0001f600" * 141])  # X counts an emoji as 2
    assert "the text is 282 long as x counts it" in str(emoji.exception)
    invalid = CliRunner().invoke(cli, [*base, "ABC\ufffeABC"])
    assert str(invalid.exception).startswith("x refuses the text:")
    with_link = CliRunner().invoke(cli, [*base, "b" * 270, "--link", LINK])  # + 2 + 38: .example is no TLD
    assert "the text is 310 long as x counts it" in str(with_link.exception)
    assert written(app) == []


@SQLITE
def test_a_repost_by_id_or_url_links_to_the_story_on_each_platform(
    app: App, clock: time_machine.Traveller
) -> None:
    ingest(app, backfill=2)
    with app.engine.connect() as connection:
        story = connection.execute(sa.select(Article.id, Article.url).order_by(Article.id).limit(1)).one()  # type: ignore[call-overload]
    by_id = create_post(app, PostRequest("x", "From the archive", story=str(story.id)), actor="cli")
    by_url = create_post(app, PostRequest("facebook", "From the archive", story=story.url), actor="cli")
    rows = {r.channel: r for r in written(app)}
    x_link = f"{story.url}?utm_source=x&utm_medium=social&utm_campaign=article"
    assert rows["x"].body == {"text": f"From the archive\n\n{x_link}"}
    assert rows["facebook"].body["message"] == "From the archive"  # Facebook's link travels beside it
    assert rows["facebook"].body["link"].startswith(story.url)
    with app.engine.connect() as connection:
        stories = connection.execute(
            sa.select(P.c.story_id, P.c.article_id).where(P.c.custom_key.is_not(None))
        )
        assert set(stories) == {(story.id, None)}
    assert by_id.created and by_url.created and by_id.delivery_id != by_url.delivery_id
    with pytest.raises(NotFound, match="no article '999999'"):
        create_post(app, PostRequest("x", "Old news", story="999999"), actor="cli")
    with pytest.raises(InvalidInput, match="not both"):
        create_post(app, PostRequest("x", "Old news", story=str(story.id), link=LINK), actor="cli")


@SQLITE
def test_times_accounts_and_keys_are_checked_before_anything_is_stored(
    app: App, clock: time_machine.Traveller
) -> None:
    cases = [
        (PostRequest("x", APPEAL, at="2026-11-27 11:00"), "is in the past"),
        (PostRequest("x", APPEAL, at="2027-03-28 01:30"), "does not exist in Europe/London"),
        (PostRequest("x", APPEAL, at="next tuesday"), "is not a date and time"),
        (PostRequest("x", APPEAL, at="2026-12-02T09:00+01:00"), "without a timezone"),
        (PostRequest("x", APPEAL, account="security"), "no x account named 'security'"),
        (PostRequest("mastodon", APPEAL), "mastodon is not enabled"),
        (PostRequest("myspace", APPEAL), "unknown platform 'myspace'"),
        (PostRequest("x", "   "), "the text is empty"),
        (PostRequest("x", APPEAL, link="javascript:alert(1)"), "not a web address"),
        (PostRequest("x", APPEAL, key="a key with spaces"), "the key is 1 to 80"),
    ]
    for request, reason in cases:
        with pytest.raises((InvalidInput, NotFound), match=reason):
            create_post(app, request, actor="cli")
    assert written(app) == []
    # Summer time: a wall time in the desk's timezone is stored in UTC.
    summer = create_post(app, PostRequest("x", APPEAL, at="2027-06-01 09:00"), actor="cli")
    assert summer.send_at == datetime(2027, 6, 1, 8, 0, tzinfo=UTC)
    # The same key with another text is refused; with the same text it is the post already queued.
    create_post(app, PostRequest("x", APPEAL, key="appeal-1"), actor="cli")
    with pytest.raises(InvalidInput, match="already used for another post"):
        create_post(app, PostRequest("x", "Something else", key="appeal-1"), actor="cli")
    assert not create_post(app, PostRequest("x", APPEAL, key="appeal-1"), actor="cli").created
    assert len(written(app)) == 2


@SQLITE
def test_a_written_post_is_held_edited_released_and_posted_now_like_an_articles(
    app: App, clock: time_machine.Traveller
) -> None:
    queued = create_post(app, PostRequest("x", APPEAL, link=LINK, at="2026-11-28 09:00"), actor="cli")
    assert plan.hold(app.engine, [queued.delivery_id]) == 1
    with pytest.raises(InvalidInput, match="the text is 300 long"):
        edit_delivery(app, queued.delivery_id, "c" * 300)
    assert edit_delivery(app, queued.delivery_id, f"Edited: {LINK}", actor="editor:e@x.example") == "x"
    assert written(app)[0].body == {"text": f"Edited: {LINK}"}
    assert plan.release(app.engine, app.settings, [queued.delivery_id]) == 1
    result = post_now(app, queued.delivery_id)  # into the file sink (the default mode), at once
    assert result.outcome == PostNowOutcome.SENT, result.message
    sent = list((app.settings.social_dir / "x").glob("*.json"))
    assert len(sent) == 1 and f"Edited: {LINK}" in sent[0].read_text()
    with pytest.raises(InvalidInput, match="already sent"):
        edit_delivery(app, queued.delivery_id, "Too late")


def test_0031_keeps_the_links_of_posts_stored_before_it(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from distro.db import MIGRATIONS

    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    t = "2026-11-20 07:00:00"
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0023")
        connection.execute(
            sa.text(
                "INSERT INTO article (id, guid, url, title, summary, first_seen_at, updated_at) "
                "VALUES (1, 'g', 'https://e.example/a', 'A', '', :t, :t)"
            ),
            {"t": t},
        )
        connection.execute(
            sa.text(
                "INSERT INTO socialpost (id, article_id, platform, account, text, body, created_at) "
                "VALUES (7, 1, 'x', 'main', 'A https://e.example/a', '{}', :t)"
            ),
            {"t": t},
        )
        connection.execute(
            sa.text(
                "INSERT INTO delivery (key, channel, recipient, social_post_id, status, attempts, "
                "next_attempt_at, created_at, updated_at) VALUES ('social:1:x:main', 'x', 'main', 7, "
                "'pending', 0, :t, :t, :t)"
            ),
            {"t": t},
        )
    upgrade(engine)
    with engine.begin() as connection:
        assert connection.execute(sa.text("SELECT social_post_id FROM delivery")).scalar_one() == 7
        connection.execute(
            sa.text(
                "INSERT INTO socialpost (article_id, custom_key, platform, account, text, body, created_at) "
                "VALUES (NULL, 'k', 'x', 'main', 'Hello', '{}', :t)"
            ),
            {"t": t},
        )
        with pytest.raises(sa.exc.IntegrityError), connection.begin_nested():  # one post per key
            connection.execute(
                sa.text(
                    "INSERT INTO socialpost (article_id, custom_key, platform, account, text, body, "
                    "created_at) VALUES (NULL, 'k', 'x', 'main', 'Again', '{}', :t)"
                ),
                {"t": t},
            )
    engine.dispose()
