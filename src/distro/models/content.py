"""What is published and composed: sources, articles, digests and their variants, social posts, WebSub."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from distro.models.columns import StatusString, UTCDateTime, _when, utcnow
from distro.models.statuses import (
    DigestStatus,
)


class Source(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=sa.String(200), unique=True)
    kind: str = Field(default="feed", sa_type=sa.String(20))
    url: str = Field(sa_type=sa.Text)
    etag: str | None = Field(default=None, sa_type=sa.Text)
    last_modified: str | None = Field(default=None, sa_type=sa.Text)
    last_polled_at: datetime | None = _when()
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    next_poll_at: datetime | None = _when()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # When the first successful poll stored the back catalogue; None until then (see Article.backlog).
    seeded_at: datetime | None = _when()
    # The configured URL that ``url`` stems from: ``url`` differs from it after a permanent redirect, and
    # polls follow ``url`` until the editor changes the configured URL.
    configured_url: str | None = Field(default=None, sa_type=sa.Text)


class Article(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    source_id: int | None = Field(default=None, foreign_key="source.id", index=True)
    guid: str | None = Field(default=None, sa_type=sa.String(1000), unique=True)
    url: str = Field(sa_type=sa.String(2000), unique=True)
    title: str = Field(sa_type=sa.Text)
    summary: str = Field(default="", sa_type=sa.Text)  # plain text, sanitised
    author: str | None = Field(default=None, sa_type=sa.String(300))
    section: str | None = Field(default=None, sa_type=sa.String(200), index=True)
    image_url: str | None = Field(default=None, sa_type=sa.String(2000))
    image_alt: str | None = Field(default=None, sa_type=sa.String(500))  # the feed's description of it
    word_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # whole text; 0: unknown
    published_at: datetime | None = _when(index=True)
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # When the source last changed the version stored (its own updated_at, or the webhook's signed send
    # time): an older version arriving later (a replay, a retry overtaken) never overwrites a newer one.
    source_modified_at: datetime | None = _when()
    # True for the back catalogue found on a source's first poll: recorded as seen, never sent.
    # Digest and social selection must add ``Article.backlog.is_(False)`` (distro.store.articles.FRESH).
    backlog: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class Digest(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=sa.String(100), unique=True)
    newsletter: str = Field(default="weekly", sa_type=sa.String(40), index=True)  # its slug prefix
    status: DigestStatus = Field(default=DigestStatus.COMPOSED, sa_type=StatusString(DigestStatus))
    subject: str = Field(sa_type=sa.Text)
    window_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    window_end: datetime = Field(sa_type=UTCDateTime, nullable=False)
    article_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    html: str = Field(sa_type=sa.Text)  # as a subscriber sees it, with personal slots unfilled
    text: str = Field(sa_type=sa.Text)
    message_template: str = Field(sa_type=sa.Text)  # the RFC 5322 message with slot markers, ASCII
    recipients: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    queued_at: datetime | None = _when()
    # Shown on the public web archive once queued (distro.services.archive); an editor can keep it out.
    archived: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})


class DigestEdit(SQLModel, table=True):
    """The editor's choices for one week's digest (by slug), stored before composing; None = settings."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=sa.String(100), unique=True)
    intro: str | None = Field(default=None, sa_type=sa.Text)  # Markdown, rendered to safe HTML
    pinned_article_id: int | None = None
    excluded_article_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    max_stories: int | None = None
    window_days: int | None = None  # None: since the previous digest (else the last N days)
    sections: list[str] | None = Field(default=None, sa_type=sa.JSON)  # section order
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # Send by hand at this time instead of at the newsletter's cron time (distro.services.digest_schedule).
    send_at: datetime | None = _when()


class DigestVariant(SQLModel, table=True):
    """The digest composed for one choice of sections, so personalisation stays byte substitution."""

    __table_args__ = (sa.UniqueConstraint("digest_id", "sections_key"),)

    id: int | None = Field(default=None, primary_key=True)
    digest_id: int = Field(foreign_key="digest.id", index=True)
    sections_key: str = Field(sa_type=sa.String(1000))  # sorted casefolded names joined by "|"
    html: str = Field(sa_type=sa.Text)
    text: str = Field(sa_type=sa.Text)
    message_template: str = Field(sa_type=sa.Text)


class SocialPost(SQLModel, table=True):
    """One post: planned from an article (``article_id``, unique per platform and account), or written by
    an editor (``custom_key``, its idempotency key: an announcement, or a repost linking to ``story_id``)."""

    __table_args__ = (sa.UniqueConstraint("article_id", "platform", "account"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: int | None = Field(default=None, foreign_key="article.id", index=True)
    custom_key: str | None = Field(default=None, sa_type=sa.String(100), unique=True, index=True)
    story_id: int | None = Field(default=None, foreign_key="article.id")
    platform: str = Field(sa_type=sa.String(20))
    account: str = Field(sa_type=sa.String(100))
    text: str = Field(sa_type=sa.Text)
    body: dict[str, Any] = Field(sa_type=sa.JSON)  # the API request body, exactly as sent
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class WebSubSubscription(SQLModel, table=True):
    """One WebSub subscription per feed (topic): asked of its hub, verified by the hub, renewed before expiry.

    ``hub.secret`` is not stored: it is derived from the signing key and the topic when needed. The
    callback URL carries a secret derived from the signing key and ``callback_nonce`` (random per
    subscription), so no one but the hub can reach it; rows from before 0015 have no nonce and keep their
    old ``/websub/<id>`` callback until their next renewal. ``awaiting`` is the ``hub.mode`` of the request
    we sent and the hub has not yet verified: only that verification is answered (and its lease taken).
    """

    id: int | None = Field(default=None, primary_key=True)
    source_name: str = Field(sa_type=sa.String(200), index=True)
    topic: str = Field(sa_type=sa.String(2000), unique=True)
    hub: str = Field(sa_type=sa.String(2000))
    state: str = Field(default="pending", sa_type=sa.String(20))  # pending, active, denied, failed
    lease_seconds: int | None = None
    expires_at: datetime | None = _when()
    requested_at: datetime | None = _when()
    verified_at: datetime | None = _when()
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    callback_nonce: str | None = Field(default=None, sa_type=sa.String(64))
    awaiting: str | None = Field(default=None, sa_type=sa.String(20))


class SeenWebhookSignature(SQLModel, table=True):
    """A CMS webhook signature already accepted, kept (as a SHA-256 of it) until its timestamp's window
    ends, so a captured request replayed inside ``web.webhook_max_age_seconds`` is refused."""

    digest: str = Field(sa_type=sa.String(64), primary_key=True)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
