"""Posts an editor writes (an announcement, or a repost of an older story), queued through the same outbox.

A written post is a :class:`~distro.models.SocialPost` without an article: the same delivery row as an
article's post, so holds, edits, post now, rate-limit pauses and the account's channel all apply as they
do to planned posts. Its text is checked by the platform's own rule (:func:`distro.compose.social.
check_fits`) before anything is stored: a text that cannot fit is refused with the platform's reason, never
cut. It goes out at its own send time (default: now), given in the desk's timezone (the main digest's) and
stored in UTC; the account's posting plan does not move it, since the editor chose the time.

Every post carries an idempotency key (``custom_key``, unique): the desk's form sends a nonce, the command
line derives one from what was asked (or takes ``--key``). The same key again returns the post already
queued, so a double-submitted form or a retried command never queues two; the same key with another text
is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from distro.accounts import Account, configured_accounts
from distro.app import App
from distro.compose.social import RULES, article_link, build_body, check_fits
from distro.db import session_scope
from distro.errors import InvalidInput, NotFound
from distro.models import Article, DeliveryStatus, utcnow
from distro.platforms import linkedin
from distro.services.activity import record_activity
from distro.services.desk_clock import desk_zone, local_time
from distro.store import articles, social_posts

KEY = re.compile(r"[A-Za-z0-9._:-]{1,80}")
PAST_GRACE = timedelta(minutes=1)  # a time typed for "this minute" is not in the past yet
KEY_PREFIX = "social:post:"  # the delivery key; article posts' keys are "social:<article id>:..."


@dataclass(frozen=True, slots=True)
class PostRequest:
    """What the editor asked for, as typed (the CLI's options, the desk's form)."""

    platform: str
    text: str
    account: str | None = None  # None: the platform's first account
    link: str | None = None  # an announcement's link
    story: str | None = None  # a repost: an article's id or URL
    at: str | None = None  # "2026-12-02 09:00" in the desk's timezone; None or "": now
    key: str | None = None  # the idempotency key; None: derived from the request

    def derived_key(self) -> str:
        """The same request gives the same key, so a retried command is recognised."""
        asked = [self.platform, self.account or "", self.text.strip(), self.link or "", self.story or ""]
        digest = hashlib.sha256(json.dumps([*asked, self.at or ""]).encode("utf-8")).hexdigest()
        return f"cli-{digest[:40]}"


@dataclass(frozen=True, slots=True)
class PreparedPost:
    """A post that fits, ready to store: what the CLI shows before it asks, and what is queued."""

    account: Account
    text: str
    body: dict[str, Any]
    link: str
    story: Article | None
    send_at: datetime  # UTC
    key: str
    length: int
    limit: int


@dataclass(frozen=True, slots=True)
class QueuedWritten:
    delivery_id: int
    send_at: datetime
    created: bool  # False: the key was used before; this is the post it queued then
    status: str


def parse_local(app: App, raw: str, now: datetime) -> datetime:
    """A wall time in the desk's timezone as UTC; refuses a time the clocks skip, or one in the past."""
    zone = desk_zone(app.settings)
    try:
        naive = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(f"{raw!r} is not a date and time; write it as 2026-12-02 09:00") from None
    if naive.tzinfo is not None:
        raise InvalidInput(f"give the time without a timezone: it is read in {zone.key}")
    local = naive.replace(tzinfo=zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise InvalidInput(f"{naive:%Y-%m-%d %H:%M} does not exist in {zone.key} (the clocks change then)")
    when = local.astimezone(UTC)
    if when < now - PAST_GRACE:
        raise InvalidInput(
            f"{naive:%Y-%m-%d %H:%M} {zone.key} is in the past; leave the time empty to post now"
        )
    return when


def accounts(app: App) -> list[Account]:
    """The accounts a post can go to: every enabled platform's, first accounts first."""
    return configured_accounts(app.settings)


def find_account(app: App, platform: str, name: str | None) -> Account:
    if platform not in RULES:
        raise InvalidInput(f"unknown platform {platform!r}; use one of {', '.join(RULES)}")
    accounts = [a for a in configured_accounts(app.settings) if a.platform == platform]
    if not accounts:
        raise InvalidInput(f"{platform} is not enabled; set {platform}.enabled = true")
    found = next((a for a in accounts if a.name == name), None) if name else accounts[0]
    if found is None:
        names = ", ".join(a.name for a in accounts)
        raise NotFound(f"no {platform} account named {name!r}; the {platform} accounts are: {names}")
    return found


def find_story(app: App, story: str) -> Article:
    """The article a repost links to, by id or by URL."""
    story = story.strip()
    if story.isdigit():
        found = articles.by_ids(app.engine, [int(story)]).get(int(story))
    else:
        with session_scope(app.engine) as session:
            found = next(iter(articles.matching(session, [], [story])), None)
    if found is None:
        raise NotFound(f"no article {story!r}; see `distro articles list` for ids and URLs")
    return found


def _web_address(link: str) -> str:
    parts = urlsplit(link.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"the link {link!r} is not a web address (https://...)")
    return link.strip()


def _with_link(platform: str, text: str, link: str, story: Article | None) -> str:
    """The link goes at the end of the text where the platform shows it from the text (not Facebook's or
    LinkedIn's card), unless the editor already put it (or the story's own address) in."""
    if not link or not RULES[platform].link_in_text or link in text or (story and story.url in text):
        return text
    return f"{text}\n\n{link}"


def _body(app: App, account: Account, text: str, link: str, story: Article | None, now: datetime) -> Any:
    if account.platform == "linkedin":
        organization = account.organization_id or app.settings.linkedin.organization_id
        card = {"title": story.title, "description": story.summary} if story else {}
        return linkedin.build_body(text, organization_id=organization, link=link or None, **card)
    return build_body(account.platform, text, link, app.settings, now)


def prepare(app: App, request: PostRequest, now: datetime | None = None) -> PreparedPost:
    """Check everything and build the body; InvalidInput or NotFound naming what to fix. Stores nothing."""
    now = now or utcnow()
    account = find_account(app, request.platform, request.account)
    key = request.key.strip() if request.key else request.derived_key()
    if not KEY.fullmatch(key):
        raise InvalidInput("the key is 1 to 80 letters, digits or . _ : -")
    text = request.text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise InvalidInput("the text is empty")
    if request.link and request.story:
        raise InvalidInput("give a link or an article to repost, not both")
    story = find_story(app, request.story) if request.story else None
    link = _web_address(request.link) if request.link else ""
    if story is not None:  # the story's address, tagged for the platform as an article's post is
        link = article_link(story.url, account.platform)
    text = _with_link(account.platform, text, link, story)
    check_fits(account.platform, text, app.settings)  # the platform's reason, before anything is stored
    send_at = parse_local(app, request.at, now) if request.at and request.at.strip() else now
    rule = RULES[account.platform]
    body = _body(app, account, text, link, story, now)
    return PreparedPost(
        account, text, body, link, story, send_at, key, rule.measure(text), rule.limit(app.settings)
    )


def queue_prepared(app: App, post: PreparedPost, *, actor: str) -> QueuedWritten:
    """Store the post and its delivery once per key, with an activity row, in one transaction."""
    now = utcnow()
    with session_scope(app.engine) as session:
        existing = social_posts.written(session, post.key)
        if existing is not None:
            return _again(post, *existing)
        row = {
            "article_id": None,
            "story_id": post.story.id if post.story else None,
            "custom_key": post.key,
            "platform": post.account.platform,
            "account": post.account.name,
            "text": post.text,
            "body": post.body,
            "created_at": now,
        }
        delivery = {
            "key": KEY_PREFIX + post.key,
            "channel": post.account.channel,
            "recipient": post.account.name,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": post.send_at,
            "created_at": now,
            "updated_at": now,
        }
        social_posts.add_written(session, row, delivery)
        stored = social_posts.written(session, post.key)
        if stored is None:  # pragma: no cover - the insert above or a concurrent one made it
            raise NotFound(f"the post with key {post.key!r} was not stored")
        what = f"repost of article {post.story.id}" if post.story else "announcement"
        where, when = f"{post.account.platform} ({post.account.name})", local_time(app.settings, post.send_at)
        record_activity(
            session,
            actor=actor,
            action="post.create",
            subject=f"post {stored[1].id}",
            detail=f"{what} on {where}, at {when}",
        )
        return QueuedWritten(stored[1].id or 0, post.send_at, True, stored[1].status)


def _again(post: PreparedPost, stored: Any, delivery: Any) -> QueuedWritten:
    """The key was used: the same post again is the one already queued; another post is refused."""
    same = (stored.platform, stored.account, stored.text) == (
        post.account.platform,
        post.account.name,
        post.text,
    )
    if not same:
        raise InvalidInput(
            f"the key {post.key!r} was already used for another post (delivery {delivery.id}); "
            "give a new key (or reload the form)"
        )
    return QueuedWritten(delivery.id or 0, delivery.next_attempt_at, False, delivery.status)


def create_post(app: App, request: PostRequest, *, actor: str, now: datetime | None = None) -> QueuedWritten:
    """Check, then queue a written post (the desk's and the command line's one way to do it)."""
    return queue_prepared(app, prepare(app, request, now), actor=actor)
