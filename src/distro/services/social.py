"""Articles -> one post per platform account -> outbox rows.

Every post of the run is rendered first; only when all rendered is anything stored, so a broken template
queues nothing. A post that cannot fit its platform (its URLs and hashtags alone are over the limit) is one
article's problem, not the run's: it is stored with a failed delivery whose reason names the article, the
editor can edit it on the desk or with ``distro social edit`` (which queues it again), and every other post
is queued. A post row and its delivery row are unique per (article, platform, account).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from distro import outbox
from distro.app import App
from distro.compose.social import RULES, PlannedPost, check_fits, plan_posts, rewrite_body
from distro.db import session_scope
from distro.errors import InvalidInput, NotFound
from distro.models import Article, Delivery, DeliveryStatus, SocialPost, utcnow
from distro.sanitize import truncate
from distro.services.activity import record_activity
from distro.services.plan import schedule_rows
from distro.services.tracking import social_links
from distro.store import articles, social_posts


def post_key(article_id: int, platform: str, account: str) -> str:
    return f"social:{article_id}:{platform}:{account}"


def articles_without_posts(app: App, now: datetime) -> list[Article]:
    """Articles first seen in the digest window, when any social account is enabled.

    Every account filters by section, so "has all its posts" differs per article; planning again is cheap
    and idempotent (existing posts, including an editor's edited text, are kept).
    """
    since = now - timedelta(days=app.settings.digest.window_days)
    if not [c for c in app.enabled_channels() if c != "email"]:
        return []
    return articles.fresh_since(app.engine, since)  # never the back catalogue of a first poll


def plan_social(app: App, now: datetime | None = None) -> int:
    """Create the posts and their delivery rows; return how many delivery rows are new."""
    now = now or utcnow()
    links = social_links(app)  # through the redirector with tracking.social_links
    planned: list[tuple[Article, PlannedPost]] = [
        (article, post)
        for article in articles_without_posts(app, now)
        for post in plan_posts(app.templates, article, app.settings, now, links)
    ]
    if not planned:
        return 0
    posts = [
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
    social_posts.add_planned(app.engine, posts)
    ids = social_posts.ids_by_key(app.engine, {a.id or 0 for a, _ in planned})
    rows = [_delivery_row(a, p, ids[(a.id or 0, p.platform, p.account)]) for a, p in planned]
    # Each new row gets its send time from its account's posting plan (distro.services.plan).
    queued = schedule_rows(app.engine, app.settings, [r for r in rows if "status" not in r], now)
    unfit = [r for r in rows if "status" in r]  # apart: one insert's rows must have the same columns
    return outbox.enqueue_many(app.engine, queued) + outbox.enqueue_many(app.engine, unfit)


def _delivery_row(article: Article, post: PlannedPost, post_id: int) -> dict[str, Any]:
    """The delivery row of ``post``: pending, or failed with why when its text cannot fit."""
    row: dict[str, Any] = {
        "key": post_key(article.id or 0, post.platform, post.account),
        "channel": post.channel or post.platform,
        "recipient": post.account,
        "social_post_id": post_id,
    }
    if post.error:
        row["status"] = DeliveryStatus.FAILED
        row["last_error"] = unfit_reason(article, post)
    return row


def unfit_reason(article: Article, post: PlannedPost) -> str:
    """What ``distro log`` and the desk show for a post that cannot fit, naming the article to fix."""
    title = truncate(article.title, 80)
    return (
        f"article {article.id} ({title!r}): {post.error}; edit the post "
        f"(`distro social edit --article {article.id} --platform {post.platform}` or the desk's social queue)"
    )


def editable(status: str, attempts: int) -> bool:
    """Pending and held posts can change, and a failed one never tried: its text did not fit at planning."""
    never_tried = status == DeliveryStatus.FAILED and attempts == 0
    return status in (DeliveryStatus.PENDING, DeliveryStatus.HELD) or never_tried


def edit_post(app: App, article_id: int, platform: str, text: str, account: str | None = None) -> int:
    """Replace the planned text of the article's post(s) on ``platform`` before they are sent.

    Only posts whose delivery is still pending (or held, or failed untried) change; the text must fit the
    platform as it counts; a post that did not fit at planning is queued again. The delivery rows are
    locked meanwhile (PostgreSQL), so a worker cannot claim a post and send its old text while the new one
    is stored. Returns how many posts changed; ValueError naming what to
    fix otherwise.
    """
    if platform not in RULES:
        raise InvalidInput(f"unknown platform {platform!r}; use one of {', '.join(RULES)}")
    text = text.strip()
    if not text:
        raise InvalidInput("the text is empty")
    check_fits(platform, text, app.settings)
    changed = 0
    with session_scope(app.engine) as session:
        rows = social_posts.for_edit(session, article_id, platform, account)
        if not rows:
            raise NotFound(
                f"article {article_id} has no planned {platform} post; run `distro social send --no-dispatch`"
            )
        for post, delivery in rows:
            _change(app, post, delivery, text, session)
            changed += 1
    return changed


def _change(app: App, post: SocialPost, delivery: Delivery, text: str, session: Session) -> None:
    """Store ``text`` (already checked) as the post's, its body rebuilt; a failed untried one is queued."""
    if not editable(delivery.status, delivery.attempts):
        raise InvalidInput(f"the {post.platform} post of {post.account} is already {delivery.status}")
    body = rewrite_body(post.platform, dict(post.body), text, app.settings, post.created_at)
    post.text, post.body = text, body
    session.add(post)
    if delivery.status == DeliveryStatus.FAILED:  # it never fitted; now it does: queue it again
        delivery.status, delivery.last_error = DeliveryStatus.PENDING, None
        delivery.next_attempt_at = delivery.updated_at = utcnow()
        session.add(delivery)


def edit_delivery(app: App, delivery_id: int, text: str, *, actor: str | None = None) -> str:
    """Replace the text of the one post behind delivery ``delivery_id`` (an article's or a written one),
    by the same rules as :func:`edit_post`; returns its platform. With ``actor``, the edit is recorded."""
    text = text.strip()
    if not text:
        raise InvalidInput("the text is empty")
    with session_scope(app.engine) as session:
        found = social_posts.for_edit_delivery(session, delivery_id)
        if found is None:
            raise NotFound(f"no social post has delivery {delivery_id}; see `distro log`")
        post, delivery = found
        check_fits(post.platform, text, app.settings)
        _change(app, post, delivery, text, session)
        if actor is not None:
            record_activity(
                session, actor=actor, action="post.edit", subject=f"post {delivery_id}", detail=post.platform
            )
    return str(post.platform)
