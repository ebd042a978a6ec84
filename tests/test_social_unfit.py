"""A post that cannot fit its platform is that article's failure, never the run's (issue 18, item 1).

A hostile title (15 URLs) cannot be cut to X's 280: the post is stored as a failed delivery naming the
article, every other article and platform is queued and sent, and an edit that fits queues it again."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from distro.app import App, build_app
from distro.cli import cli
from distro.db import upgrade
from distro.models import Article, Delivery, DeliveryStatus, SocialPost
from distro.services.delivery import dispatch
from distro.services.ingest import ingest
from distro.services.social import edit_post, plan_social
from distro.settings import Settings, SourceSettings
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


# -- a hostile but realistic feed, through ingest, planning and the CLI --------------------------------

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
CJK = "東京で開かれた首脳会議では、各国の代表が安全保障について長時間にわたり議論した。" * 10
HOSTILE = {
    "urls": URLS,
    "long": "A very long headline about the summit " * 12,
    "cjk": CJK,
    "emoji": FAMILY * 400,
    "flags": "\U0001f1eb\U0001f1f7" * 300,
    "bidi": "Breaking\u202e news\u200b from \u2066the\u2069 desk\ufeff",
    "arabic": "قمة طوكيو تناقش الأمن الإقليمي " * 20,
}
INVISIBLE = "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\ufffe\uffff"


def hostile_feed(path: Path) -> Path:
    items = "".join(
        f"<item><title>{escape(title)}</title><link>https://meridian-review.example/{slug}</link>"
        f"<guid>hostile-{slug}</guid><pubDate>Thu, 26 Nov 2026 10:00:00 +0000</pubDate>"
        f"<description>{escape(CJK if slug == 'cjk' else title)}</description></item>"
        for slug, title in HOSTILE.items()
    )
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Hostile</title>'
        f"<link>https://meridian-review.example</link><description>d</description>{items}</channel></rss>",
        encoding="utf-8",
    )
    return path


def test_a_hostile_feed_plans_every_post_but_the_unfit_one(
    settings: Settings, tmp_path: Path, clock: time_machine.Traveller
) -> None:
    settings.sources = [
        SourceSettings(name="hostile", url=str(hostile_feed(tmp_path / "h.xml")), backfill=20)
    ]
    settings.mastodon.enabled = settings.bluesky.enabled = True
    app = build_app(settings)
    upgrade(app.engine)
    ingest(app)
    assert plan_social(app) == 4 * len(HOSTILE)
    found = rows(app)
    failed = {(r.platform, r.article_id) for r in found if r.status == DeliveryStatus.FAILED}
    assert {platform for platform, _ in failed} <= {"x", "mastodon", "bluesky"} and failed
    with app.engine.connect() as connection:
        titles = dict(connection.execute(sa.select(Article.id, Article.title)).all())  # type: ignore[call-overload]
        texts = connection.execute(sa.select(P.c.platform, P.c.text, P.c.article_id)).all()
    assert {titles[a][:40] for _, a in failed} == {URLS[:40]}  # only the 15-URL title (cut at ingest)
    for platform, text, article in texts:
        assert not set(text) & set(INVISIBLE), (platform, text)
        assert "\U0001f1eb\U0001f1f7\U0001f1eb…" not in text  # no lone regional indicator before a cut
        if not titles[article].startswith(URLS[:40]):
            body = text.split("https://")[0].strip()
            assert body, (platform, text)  # never just the link and the tags
        if platform == "bluesky":
            assert len(text.encode()) <= 3000
    app.engine.dispose()


def test_social_send_exits_0_with_an_unfit_post(
    app: App, clock: time_machine.Traveller, tmp_path: Path
) -> None:
    hostile(app)
    config = tmp_path / "distro.toml"
    config.write_text(
        f'database_url = "{app.settings.database_url}"\nvar_dir = "{app.settings.var_dir}"\n'
        f'templates_dir = "{app.settings.templates_dir}"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "social", "send"])
    assert result.exit_code == 0, result.output
    assert "new deliveries queued" in result.output
