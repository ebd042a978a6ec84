"""Articles -> the weekly digest -> one outbox row per subscriber.

The digest is rendered, compiled and checked (including one personalised copy) before any row is queued,
so a template error stops the digest before its first message. The digest's slug is its ISO week in the
editor's timezone: composing the same week again returns the stored digest instead of a second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import select

from distro import outbox
from distro.app import App
from distro.compose.digest import compose_digest
from distro.compose.message import Personal, PreparedMessage, fill_preview
from distro.db import session_scope
from distro.models import Article, Delivery, Digest, DigestStatus, Subscriber, utcnow
from distro.services.personal import personal_for
from distro.services.subscribers import active_subscribers


def digest_slug(app: App, now: datetime) -> str:
    year, week, _ = now.astimezone(ZoneInfo(app.settings.digest.timezone)).isocalendar()
    return f"{app.settings.digest.slug_prefix}-{year}-W{week:02d}"


def window_articles(app: App, now: datetime) -> tuple[datetime, list[Article]]:
    """Articles first seen since the previous digest (or in the last ``window_days``), newest first."""
    with session_scope(app.engine) as session:
        previous = session.exec(select(Digest).order_by(Digest.window_end.desc())).first()  # type: ignore[attr-defined]
        start = previous.window_end if previous else now - timedelta(days=app.settings.digest.window_days)
        articles = list(
            session.exec(
                select(Article)
                .where(Article.first_seen_at > start, Article.first_seen_at <= now)
                .order_by(sa.desc(sa.func.coalesce(Article.published_at, Article.first_seen_at)), Article.id)
            )
        )
    return start, articles


@dataclass(frozen=True, slots=True)
class DigestResult:
    digest: Digest | None
    created: bool
    reason: str = ""


def compose_weekly(app: App, now: datetime | None = None) -> DigestResult:
    """Compose this week's digest, or return the one already composed; ``digest`` is None on an empty week."""
    now = now or utcnow()
    slug = digest_slug(app, now)
    with session_scope(app.engine) as session:
        existing = session.exec(select(Digest).where(Digest.slug == slug)).first()
    if existing is not None:
        return DigestResult(existing, created=False, reason=f"digest {slug} already composed")
    start, articles = window_articles(app, now)
    if not articles:
        return DigestResult(None, created=False, reason=f"no new articles since {start:%Y-%m-%d %H:%M} UTC")
    composed = compose_digest(settings=app.settings, env=app.templates, slug=slug, articles=articles, now=now)
    prepared = PreparedMessage.from_template(composed.message_template)
    prepared.render(
        personal_for(
            app, digest_slug=slug, subscriber_id=0, email="check@example.org", name="Check", delivery_id=0
        )
    )  # every slot must fill before we queue
    digest = Digest(
        slug=slug,
        subject=composed.subject,
        window_start=start,
        window_end=now,
        article_ids=[a.id for a in articles if a.id is not None][: app.settings.digest.max_stories],
        html=composed.html,
        text=composed.text,
        message_template=composed.message_template,
    )
    with session_scope(app.engine) as session:
        session.add(digest)
    return DigestResult(digest, created=True)


def queue_digest(app: App, digest: Digest) -> int:
    """One outbox row per active subscriber (idempotent); returns how many rows were new."""
    rows = (
        {
            "key": f"digest:{digest.slug}:{subscriber.id}",
            "channel": "email",
            "recipient": subscriber.email,
            "digest_id": digest.id,
            "subscriber_id": subscriber.id,
        }
        for subscriber in active_subscribers(app)
    )
    created = outbox.enqueue_many(app.engine, rows)
    with session_scope(app.engine) as session:
        row = session.get_one(Digest, digest.id)
        total = session.exec(
            select(sa.func.count()).select_from(Delivery).where(Delivery.digest_id == digest.id)
        ).one()
        row.recipients = int(total)
        row.status = DigestStatus.QUEUED
        row.queued_at = row.queued_at or utcnow()
    return created


def count_recipients(app: App) -> int:
    return sum(1 for _ in active_subscribers(app))


def preview(app: App, digest: Digest, *, email: str | None = None) -> tuple[Path, Path, Personal]:
    """Write the exact HTML and text a subscriber would get to ``var/preview/``; return their paths."""
    subscriber: Subscriber | None = None
    if email:
        with session_scope(app.engine) as session:
            subscriber = session.exec(select(Subscriber).where(Subscriber.email == email)).first()
    personal = personal_for(
        app,
        digest_slug=digest.slug,
        subscriber_id=subscriber.id if subscriber else 0,
        email=subscriber.email if subscriber else "preview@example.org",
        name=subscriber.name if subscriber else None,
        delivery_id=0,
    )
    target = app.settings.var_dir / "preview"
    target.mkdir(parents=True, exist_ok=True)
    html_path, text_path = target / f"{digest.slug}.html", target / f"{digest.slug}.txt"
    html_path.write_text(fill_preview(digest.html, personal), encoding="utf-8")
    text_path.write_text(fill_preview(digest.text, personal), encoding="utf-8")
    return html_path, text_path, personal
