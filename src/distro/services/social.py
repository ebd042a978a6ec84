"""Articles -> one post per platform account -> outbox rows.

Every post of the run is rendered first; only when all rendered is anything stored, so a broken template
queues nothing. A post row and its delivery row are unique per (article, platform, account).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select

from distro import outbox
from distro.app import App
from distro.compose.social import PlannedPost, plan_posts
from distro.db import is_postgres, session_scope
from distro.models import Article, SocialPost, utcnow


def post_key(article_id: int, platform: str, account: str) -> str:
    return f"social:{article_id}:{platform}:{account}"


def articles_without_posts(app: App, now: datetime) -> list[Article]:
    """Articles first seen in the digest window that some enabled platform has not had a post for."""
    since = now - timedelta(days=app.settings.digest.window_days)
    wanted = len([c for c in app.enabled_channels() if c != "email"])
    if not wanted:
        return []
    posted = (
        select(SocialPost.article_id)
        .group_by(SocialPost.article_id)  # type: ignore[arg-type]
        .having(sa.func.count() >= wanted)
    )
    with session_scope(app.engine) as session:
        return list(
            session.exec(
                select(Article)
                .where(Article.first_seen_at > since, Article.id.not_in(posted))  # type: ignore[union-attr]
                .order_by(Article.published_at, Article.id)  # type: ignore[arg-type]
            )
        )


def plan_social(app: App, now: datetime | None = None) -> int:
    """Create the posts and their delivery rows; return how many delivery rows are new."""
    now = now or utcnow()
    planned: list[tuple[Article, PlannedPost]] = [
        (article, post)
        for article in articles_without_posts(app, now)
        for post in plan_posts(app.templates, article, app.settings)
    ]
    if not planned:
        return 0
    insert = postgresql.insert if is_postgres(app.engine) else sqlite.insert
    table = SocialPost.__table__  # type: ignore[attr-defined]
    with session_scope(app.engine) as session:
        session.execute(
            insert(table)
            .values(
                [
                    {
                        "article_id": a.id,
                        "platform": p.platform,
                        "account": p.account,
                        "text": p.text,
                        "body": p.body,
                        "created_at": now,
                    }
                    for a, p in planned
                ]
            )
            .on_conflict_do_nothing(index_elements=["article_id", "platform", "account"])
        )
    with session_scope(app.engine) as session:
        ids = {
            (row.article_id, row.platform, row.account): row.id
            for row in session.exec(
                select(SocialPost).where(SocialPost.article_id.in_([a.id for a, _ in planned]))  # type: ignore[attr-defined]
            )
        }
    rows = [
        {
            "key": post_key(a.id or 0, p.platform, p.account),
            "channel": p.platform,
            "recipient": p.account,
            "social_post_id": ids[(a.id, p.platform, p.account)],
        }
        for a, p in planned
    ]
    return outbox.enqueue_many(app.engine, rows)
