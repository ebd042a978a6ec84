"""Outbox rows -> wire messages: a personalised email per digest row, the stored body per post row.

Each digest's prepared messages (the full digest, one per section choice, and the "[TEST]" copy) are built
once per builder and picked per row; personalising is byte substitution, then a DKIM signature when a key
is configured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from distro.app import App
from distro.channels.base import EmailOut, SocialOut
from distro.compose.digest import list_label
from distro.compose.dkim import signer_from_settings
from distro.compose.message import PreparedMessage, build_message_template
from distro.dispatch import Suppressed
from distro.errors import PermanentFailure
from distro.feedback import verp
from distro.models import (
    Article,
    Digest,
    DigestVariant,
    SocialPost,
    SubscriberStatus,
)
from distro.outbox import Claimed
from distro.services import events
from distro.services.digest_variants import sections_key
from distro.services.personal import personal_for
from distro.store import articles as stored_articles
from distro.store import editions, one_off, recipients, social_posts
from distro.tokens import bounce_token

TEST_SUBJECT_PREFIX = "[TEST] "
_TEST = "\x00test"  # variant key of the test copy; never a sections key
ONE_OFF_PREFIX = "msg:"  # outbox key of a stored transactional message (distro.services.signup)


class _DigestMessages:
    """One digest's prepared messages by variant key ("" is the full digest)."""

    def __init__(self, app: App, digest: Digest, variants: Sequence[DigestVariant]) -> None:
        self.slug, self.prefix = digest.slug, digest.newsletter
        # Its newsletter, named by the stored digest and looked up once (None: since removed from the
        # configuration; its test copy then carries the main List-Id).
        self.newsletter = next(
            (n for n in app.settings.all_newsletters if n.slug_prefix == digest.newsletter), None
        )
        self._app, self._digest = app, digest
        self._prepared = {"": PreparedMessage.from_template(digest.message_template)}
        self._prepared.update(
            {v.sections_key: PreparedMessage.from_template(v.message_template) for v in variants}
        )

    def get(self, key: str) -> PreparedMessage:
        if key == _TEST and _TEST not in self._prepared:
            d, settings = self._digest, self._app.settings
            template = build_message_template(
                settings=settings,
                slug=d.slug,
                subject=TEST_SUBJECT_PREFIX + d.subject,
                html=d.html,
                text=d.text,
                list_id=settings.list_id_of(self.newsletter) if self.newsletter is not None else None,
                list_label=list_label(settings, self.newsletter) if self.newsletter is not None else None,
            )
            self._prepared[_TEST] = PreparedMessage.from_template(template)
        return self._prepared.get(key) or self._prepared[""]


class MessageBuilder:
    """Builds each claimed row's wire message; caches each digest's prepared messages."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._digests: dict[int, _DigestMessages] = {}
        self._signer = signer_from_settings(app.settings.email)

    def _digest(self, digest_id: int) -> _DigestMessages:
        if digest_id not in self._digests:
            digest, variants = editions.with_variants(self.app.engine, digest_id)
            self._digests[digest_id] = _DigestMessages(self.app, digest, variants)
        return self._digests[digest_id]

    def __call__(self, batch: Sequence[Claimed]) -> Mapping[int, Any]:
        subscriber_ids = [c.subscriber_id for c in batch if c.subscriber_id is not None]
        post_ids = [c.social_post_id for c in batch if c.social_post_id is not None]
        subscribers = {s.id: s for s in recipients.by_ids(self.app.engine, subscriber_ids)}
        posts = social_posts.by_ids(self.app.engine, post_ids)
        articles = self._x_articles(list(posts.values()))
        built: dict[int, Any] = self._one_off([c for c in batch if c.key.startswith(ONE_OFF_PREFIX)])
        built.update(events.build_messages(self.app.engine, batch))  # outgoing webhooks
        for claimed in batch:
            if claimed.id in built:
                continue
            if claimed.digest_id is not None and claimed.subscriber_id is not None:
                built[claimed.id] = self._email(claimed, subscribers.get(claimed.subscriber_id))
            elif claimed.digest_id is not None and claimed.key.startswith("test:"):
                built[claimed.id] = self._test(claimed)
            elif claimed.social_post_id in posts:
                post = posts[claimed.social_post_id]
                built[claimed.id] = SocialOut(
                    claimed.key,
                    post.platform,
                    post.account,
                    dict(post.body),
                    attempt=claimed.attempt,
                    **self._x_extras(post, articles),
                )
        return built

    def _x_articles(self, posts: Sequence[SocialPost]) -> dict[int, Article]:
        """Articles of X posts when ``x.media`` or ``x.thread`` needs them (image, title, summary)."""
        x = self.app.settings.x
        ids = [p.article_id for p in posts if p.platform == "x" and p.article_id is not None]
        if not ids or not (x.media or x.thread):
            return {}
        return stored_articles.by_ids(self.app.engine, ids)

    def _x_extras(self, post: SocialPost, articles: Mapping[int, Article]) -> dict[str, Any]:
        """The image and thread an X post carries beside its stored body (see distro.channels.x)."""
        article = articles.get(post.article_id) if post.article_id is not None else None  # None: written
        if post.platform != "x" or article is None:
            return {}
        from distro.compose.social import x_media, x_thread

        image_url, alt_text = x_media(article, self.app.settings)
        return {
            "image_url": image_url,
            "alt_text": alt_text,
            "thread": x_thread(article, str(post.body.get("text", "")), self.app.settings),
        }

    def _one_off(self, rows: Sequence[Claimed]) -> dict[int, Any]:
        """Transactional emails (confirmation, welcome; key ``msg:<id>``): sent as stored, DKIM-signed."""
        if not rows:
            return {}
        ids = {c.id: int(c.key.removeprefix(ONE_OFF_PREFIX)) for c in rows}
        stored = one_off.stored_bytes(self.app.engine, list(ids.values()))
        built: dict[int, Any] = {}
        for claimed in rows:
            data = stored.get(ids[claimed.id])
            if data is None:
                built[claimed.id] = Suppressed("message was deleted (subscriber forgotten)")
                continue
            if self._signer is not None:
                data = self._signer.sign(data)
            built[claimed.id] = EmailOut(claimed.key, self._sender(claimed.id), claimed.recipient, data)
        return built

    def _render(self, claimed: Claimed, key: str, subscriber_id: int, name: str | None) -> Any:
        messages = self._digest(claimed.digest_id or 0)
        personal = personal_for(
            self.app,
            digest_slug=messages.slug,
            subscriber_id=subscriber_id,
            email=claimed.recipient,
            name=name,
            delivery_id=claimed.id,
            newsletter=messages.prefix,
        )
        try:
            data = messages.get(key).render(personal)
        except ValueError as exc:
            return PermanentFailure(f"cannot address {claimed.recipient!r}: {exc}")
        if self._signer is not None:
            data = self._signer.sign(data)
        return EmailOut(claimed.key, self._sender(claimed.id), claimed.recipient, data)

    def _sender(self, delivery_id: int) -> str:
        """The envelope sender: the delivery's VERP bounce address when one is configured (a bounce then
        names its delivery, distro.feedback.verp), else the From address."""
        template = self.app.settings.email.bounce_address
        if template is None:
            return self.app.settings.email.from_address
        return verp.address(template, bounce_token(self.app.signing_key, delivery_id))

    def _email(self, claimed: Claimed, subscriber: recipients.Addressee | None) -> Any:
        if subscriber is None:
            return Suppressed("subscriber was deleted")
        if subscriber.status != SubscriberStatus.ACTIVE:
            return Suppressed(f"subscriber is {subscriber.status}")
        newsletter = self._digest(claimed.digest_id or 0).newsletter
        if newsletter is not None and not newsletter.chosen_by(subscriber.newsletters):
            return Suppressed(f"subscriber left the {newsletter.name}")  # after it was queued
        return self._render(claimed, sections_key(subscriber.sections), subscriber.id, subscriber.name)

    def _test(self, claimed: Claimed) -> Any:
        """A test copy: the full digest, subject "[TEST] ...", links signed for no subscriber (id 0)."""
        return self._render(claimed, _TEST, 0, None)
