"""Outbox rows -> wire messages: a personalised email per digest row, the stored body per post row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import select

from distro.app import App
from distro.channels.base import EmailOut, SocialOut
from distro.compose.message import PreparedMessage
from distro.db import session_scope
from distro.dispatch import Suppressed
from distro.errors import PermanentFailure
from distro.models import Digest, SocialPost, Subscriber, SubscriberStatus
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
