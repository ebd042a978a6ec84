"""Outbox rows -> wire messages -> channels, and the delivery log as editors read it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from distro.app import App
from distro.channels.base import EmailOut, SocialOut
from distro.compose.message import PreparedMessage
from distro.db import session_scope
from distro.dispatch import DispatchReport, Suppressed, dispatch_channel
from distro.errors import PermanentFailure
from distro.models import Delivery, Digest, SocialPost, Subscriber, SubscriberStatus
from distro.outbox import Claimed
from distro.services.personal import personal_for


class MessageBuilder:
    """Builds each claimed row's wire message; caches one prepared message per digest."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._digests: dict[int, tuple[str, PreparedMessage]] = {}

    def _digest(self, digest_id: int) -> tuple[str, PreparedMessage]:
        if digest_id not in self._digests:
            with session_scope(self.app.engine) as session:
                digest = session.get_one(Digest, digest_id)
                self._digests[digest_id] = (
                    digest.slug,
                    PreparedMessage.from_template(digest.message_template),
                )
        return self._digests[digest_id]

    def __call__(self, batch: Sequence[Claimed]) -> Mapping[int, Any]:
        subscriber_ids = [c.subscriber_id for c in batch if c.subscriber_id is not None]
        post_ids = [c.social_post_id for c in batch if c.social_post_id is not None]
        with session_scope(self.app.engine) as session:
            subscribers = {
                s.id: s for s in session.exec(select(Subscriber).where(Subscriber.id.in_(subscriber_ids)))
            }  # type: ignore[union-attr]
            posts = {p.id: p for p in session.exec(select(SocialPost).where(SocialPost.id.in_(post_ids)))}  # type: ignore[union-attr]
        built: dict[int, Any] = {}
        for claimed in batch:
            if claimed.digest_id is not None and claimed.subscriber_id is not None:
                built[claimed.id] = self._email(claimed, subscribers.get(claimed.subscriber_id))
            elif claimed.social_post_id in posts:
                post = posts[claimed.social_post_id]
                built[claimed.id] = SocialOut(claimed.key, post.platform, post.account, dict(post.body))
        return built

    def _email(self, claimed: Claimed, subscriber: Subscriber | None) -> Any:
        if subscriber is None:
            return Suppressed("subscriber was deleted")
        if subscriber.status != SubscriberStatus.ACTIVE:
            return Suppressed(f"subscriber is {subscriber.status}")
        slug, prepared = self._digest(claimed.digest_id or 0)
        personal = personal_for(
            self.app,
            digest_slug=slug,
            subscriber_id=subscriber.id or 0,
            email=subscriber.email,
            name=subscriber.name,
            delivery_id=claimed.id,
        )
        try:
            data = prepared.render(personal)
        except ValueError as exc:
            return PermanentFailure(f"cannot address {subscriber.email!r}: {exc}")
        return EmailOut(claimed.key, self.app.settings.email.from_address, subscriber.email, data)


def dispatch(
    app: App, channels: Sequence[str] | None = None, *, stop: Any = None
) -> dict[str, DispatchReport]:
    """Send everything due on the given channels (default: all enabled); close each channel after."""
    builder = MessageBuilder(app)
    reports: dict[str, DispatchReport] = {}
    for name in channels or app.enabled_channels():
        channel = app.channel_factory(name)
        try:
            reports[name] = dispatch_channel(
                engine=app.engine,
                channel=channel,
                build=builder,
                settings=app.settings.dispatch,
                worker=app.worker_id,
                stop=stop,
            )
        finally:
            channel.close()
    return reports


@dataclass(frozen=True, slots=True)
class LogEntry:
    id: int
    channel: str
    recipient: str
    status: str
    attempts: int
    provider_id: str | None
    last_error: str | None
    digest: str | None
    updated_at: datetime
    sent_at: datetime | None


def delivery_log(
    app: App,
    *,
    channel: str | None = None,
    status: str | None = None,
    digest: str | None = None,
    limit: int = 200,
) -> list[LogEntry]:
    query = (
        sa.select(Delivery, Digest.slug)
        .outerjoin(Digest, Digest.id == Delivery.digest_id)  # type: ignore[arg-type]
        .order_by(Delivery.id)  # type: ignore[arg-type]
        .limit(limit)
    )
    if channel:
        query = query.where(Delivery.channel == channel)  # type: ignore[arg-type]
    if status:
        query = query.where(Delivery.status == status)  # type: ignore[arg-type]
    if digest:
        query = query.where(Digest.slug == digest)  # type: ignore[arg-type]
    with session_scope(app.engine) as session:
        return [
            LogEntry(
                d.id or 0,
                d.channel,
                d.recipient,
                d.status,
                d.attempts,
                d.provider_id,
                d.last_error,
                slug,
                d.updated_at,
                d.sent_at,
            )
            for d, slug in session.execute(query)
        ]
