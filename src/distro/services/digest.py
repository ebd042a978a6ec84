"""Articles -> the weekly digest -> one outbox row per subscriber.

The digest is rendered, compiled and checked (including one personalised copy) before any row is queued,
so a template error stops the digest before its first message. The digest's slug is its ISO week in the
editor's timezone: composing the same week again returns the stored digest instead of a second one, until
the editor changes the week's edit (:mod:`distro.services.digest_edit`), which recomposes a digest that is
not queued yet. Subscribers who chose sections get a variant composed once per distinct choice at queue
time; :class:`~distro.services.messages.MessageBuilder` picks it per message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger
from sqlmodel import delete, select

from distro import outbox
from distro.app import App
from distro.compose.digest import ComposedDigest, Edition, compose_digest, compose_empty, size_warning
from distro.compose.message import Personal, PreparedMessage, fill_preview
from distro.db import session_scope
from distro.errors import ConfigError, DistroError
from distro.models import (
    Article,
    Delivery,
    Digest,
    DigestEdit,
    DigestStatus,
    DigestVariant,
    Subscriber,
    utcnow,
)
from distro.progress import Ticker
from distro.services.ingest import FRESH
from distro.services.personal import personal_for
from distro.services.subscribers import active_subscribers
from distro.services.suppression import without_suppressed

log = logging.getLogger(__name__)
TEST_KEY_PREFIX = "test:"
_LOOKAHEAD = 400  # fire times tried before giving up on finding an unqueued edition (over a year of days)


def digest_slug(app: App, now: datetime) -> str:
    """The edition's slug: ``weekly-2026-W48`` (ISO week) or ``security-2026-11-25`` (day), local time."""
    newsletter = app.settings.digest
    local = now.astimezone(ZoneInfo(newsletter.timezone))
    if newsletter.period == "day":
        return f"{newsletter.slug_prefix}-{local:%Y-%m-%d}"
    year, week, _ = local.isocalendar()
    return f"{newsletter.slug_prefix}-{year}-W{week:02d}"


def digest_job_id(app: App, prefix: str) -> str:
    """The scheduler job of a newsletter: ``digest`` for the main digest (the id older versions stored),
    ``digest:<prefix>`` for the others."""
    return "digest" if prefix == app.settings.digest.slug_prefix else f"digest:{prefix}"


def digest_trigger(app: App, prefix: str | None = None) -> CronTrigger:
    """When the newsletter ``prefix`` (None: ``app``'s digest) goes out: a cron trigger in its timezone."""
    settings = app.settings.newsletter(prefix)
    try:
        hour, minute = (int(part) for part in settings.time.split(":", 1))
        return CronTrigger(
            day_of_week=settings.day_of_week, hour=hour, minute=minute, timezone=settings.timezone
        )
    except ValueError as exc:
        raise ConfigError(
            f"{'digest' if settings is app.settings.digest else 'newsletter ' + settings.slug_prefix}: "
            f"day_of_week/time: {exc} "
            "(e.g. day_of_week = 'mon' or 'mon-fri', time = '07:00')"
        ) from exc


def _status(app: App, slug: str) -> str | None:
    with session_scope(app.engine) as session:
        return session.exec(select(Digest.status).where(Digest.slug == slug)).first()


def upcoming_at(app: App, now: datetime | None = None) -> datetime:
    """A time inside the edition the editor works on: ``now`` while this period's edition of ``app``'s
    newsletter is composed but not queued, else the newsletter's next fire time (skipping editions
    already queued by hand).

    On Friday an editor edits what goes out next Monday, not the edition already sent; the scheduler
    composes that same edition at its time (with the articles that arrived since, edits kept).
    """
    now = now or utcnow()
    if _status(app, digest_slug(app, now)) == DigestStatus.COMPOSED:
        return now
    trigger = digest_trigger(app, app.settings.digest.slug_prefix)
    at = now
    for _ in range(_LOOKAHEAD):
        fire = trigger.get_next_fire_time(None, at + timedelta(seconds=1))
        if fire is None:
            break
        at = fire.astimezone(UTC)
        if _status(app, digest_slug(app, at)) in (None, DigestStatus.COMPOSED):
            return at
    return at


def in_newsletter(app: App, article: Article) -> bool:
    """Whether the article belongs in the newsletter ``app`` is scoped to (its ``only_sections``)."""
    only = app.settings.digest.only_sections
    return only is None or (article.section or "").strip().casefold() in {s.casefold() for s in only}


def sections_key(sections: Iterable[str] | None) -> str:
    """The variant a subscriber gets: "" for every section, else their sections, casefolded and sorted."""
    chosen = sorted({s.strip().casefold() for s in sections or () if s.strip()})
    return "|".join(chosen)


def load_edit(app: App, slug: str) -> DigestEdit | None:
    with session_scope(app.engine) as session:
        return session.exec(select(DigestEdit).where(DigestEdit.slug == slug)).first()


def edition_of(app: App, edit: DigestEdit | None) -> Edition:
    if edit is None:
        return Edition(intro=app.settings.digest.intro)
    return Edition(
        intro=app.settings.digest.intro if edit.intro is None else edit.intro,
        pinned_article_id=edit.pinned_article_id,
        excluded_article_ids=frozenset(edit.excluded_article_ids or ()),
        max_stories=edit.max_stories,
        sections=tuple(edit.sections) if edit.sections else None,
    )


def window_articles(
    app: App, now: datetime, *, window_days: int | None = None, before_slug: str | None = None
) -> tuple[datetime, list[Article]]:
    """Articles first seen since this newsletter's previous digest (or in the last ``window_days``),
    newest first, in the newsletter's sections.

    ``before_slug`` ignores that digest itself when it is being recomposed.
    """
    with session_scope(app.engine) as session:
        query = (
            select(Digest)
            .where(Digest.newsletter == app.settings.digest.slug_prefix)
            .order_by(Digest.window_end.desc())  # type: ignore[attr-defined]
        )
        if before_slug is not None:
            query = query.where(Digest.slug != before_slug)
        previous = session.exec(query).first()
        if window_days is not None or previous is None:
            start = now - timedelta(days=window_days or app.settings.digest.window_days)
        else:
            start = previous.window_end
        articles = list(
            session.exec(
                select(Article)
                .where(Article.first_seen_at > start, Article.first_seen_at <= now, FRESH)
                .order_by(sa.desc(sa.func.coalesce(Article.published_at, Article.first_seen_at)), Article.id)
            )
        )
    return start, [a for a in articles if in_newsletter(app, a)]


@dataclass(frozen=True, slots=True)
class DigestResult:
    digest: Digest | None
    created: bool
    reason: str = ""
    warning: str | None = None  # e.g. the HTML is over Gmail's clip limit


def _check_personalises(app: App, composed: ComposedDigest, slug: str) -> None:
    PreparedMessage.from_template(composed.message_template).render(
        personal_for(
            app, digest_slug=slug, subscriber_id=0, email="check@example.org", name="Check", delivery_id=0
        )
    )  # every slot must fill before we queue


def compose_weekly(
    app: App,
    now: datetime | None = None,
    *,
    recompose: bool = False,
    refresh: bool = False,
    slug_at: datetime | None = None,
) -> DigestResult:
    """Compose this week's digest, or return the one already composed; ``digest`` is None on an empty week
    (unless ``digest.empty_week = "note"``, which composes the short note instead).

    ``recompose`` renders a composed-but-not-queued digest again with the week's edit; a queued digest is
    never changed; with ``refresh`` its window also moves on to ``now`` (the scheduler, at send time, so
    an edition previewed days before still carries the latest stories). ``slug_at`` (e.g.
    :func:`upcoming_at`) picks the edition, and dates it, instead of ``now``; the window still ends at
    ``now``.
    """
    now = now or utcnow()
    dated = slug_at or now
    slug = digest_slug(app, dated)
    with session_scope(app.engine) as session:
        existing = session.exec(select(Digest).where(Digest.slug == slug)).first()
    if existing is not None and (not recompose or existing.status != DigestStatus.COMPOSED):
        reason = f"digest {slug} already {existing.status}"
        return DigestResult(existing, created=False, reason=reason, warning=size_warning_of(app, existing))
    edit = load_edit(app, slug)
    window_end = existing.window_end if existing is not None and not refresh else now
    start, articles = window_articles(
        app, window_end, window_days=edit.window_days if edit else None, before_slug=slug
    )
    edition = edition_of(app, edit)
    left = [a for a in articles if a.id not in edition.excluded_article_ids]
    if not left and app.settings.digest.empty_week == "skip":
        if existing is not None:
            raise DistroError(f"the edit of {slug} leaves no stories; remove an excluded article")
        return DigestResult(None, created=False, reason=f"no new articles since {start:%Y-%m-%d %H:%M} UTC")
    if left:
        composed = compose_digest(
            settings=app.settings, env=app.templates, slug=slug, articles=articles, now=dated, edition=edition
        )
    else:
        composed = compose_empty(settings=app.settings, env=app.templates, slug=slug, now=dated)
    _check_personalises(app, composed, slug)
    with session_scope(app.engine) as session:
        digest = session.get(Digest, existing.id) if existing is not None else None
        if digest is not None:
            session.exec(delete(DigestVariant).where(DigestVariant.digest_id == digest.id))  # type: ignore[call-overload]
        else:
            digest = Digest(
                slug=slug,
                newsletter=app.settings.digest.slug_prefix,
                subject="",
                window_start=start,
                window_end=now,
                html="",
                text="",
            )
            digest.message_template = ""
        digest.subject, digest.html, digest.text = composed.subject, composed.html, composed.text
        digest.message_template = composed.message_template
        digest.window_start, digest.window_end = start, window_end
        digest.article_ids = list(composed.article_ids)
        session.add(digest)
        session.flush()
        session.refresh(digest)
        session.expunge(digest)
    warning = size_warning(composed.size_bytes, app.settings.digest.max_html_bytes)
    return DigestResult(digest, created=existing is None, warning=warning)


def size_warning_of(app: App, digest: Digest) -> str | None:
    return size_warning(len(digest.html.encode("utf-8")), app.settings.digest.max_html_bytes)


def _digest_articles(app: App, digest: Digest) -> list[Article]:
    with session_scope(app.engine) as session:
        rows = session.exec(select(Article).where(Article.id.in_(digest.article_ids))).all()  # type: ignore[union-attr]
    return list(rows)


def compose_variants(app: App, digest: Digest, keys: Iterable[str]) -> int:
    """Compose and store the variant of ``digest`` for each section choice in ``keys`` that lacks one.

    A choice that matches none of the digest's stories gets no variant: those readers get the full digest
    rather than an empty email. Returns how many variants were added.
    """
    with session_scope(app.engine) as session:
        have = set(
            session.exec(select(DigestVariant.sections_key).where(DigestVariant.digest_id == digest.id)).all()
        )
    wanted = sorted(k for k in set(keys) if k and k not in have)
    if not wanted or not digest.article_ids:
        return 0
    articles, edition = _digest_articles(app, digest), edition_of(app, load_edit(app, digest.slug))
    edition = Edition(
        intro=edition.intro, pinned_article_id=edition.pinned_article_id, sections=edition.sections
    )
    added: list[DigestVariant] = []
    for key in wanted:
        try:
            composed = compose_digest(
                settings=app.settings,
                env=app.templates,
                slug=digest.slug,
                articles=articles,
                now=digest.window_end,
                edition=edition,
                only_sections=key.split("|"),
            )
        except ValueError:
            log.info("digest %s: no story in sections %r; they get the full digest", digest.slug, key)
            continue
        _check_personalises(app, composed, digest.slug)
        added.append(
            DigestVariant(
                digest_id=digest.id or 0,
                sections_key=key,
                html=composed.html,
                text=composed.text,
                message_template=composed.message_template,
            )
        )
    with session_scope(app.engine) as session:
        session.add_all(added)
    return len(added)


def _ticking(rows: Iterator[dict[str, Any]], progress: Ticker | None) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield row
        if progress is not None:
            progress.advance()


def queue_digest(app: App, digest: Digest, *, progress: Ticker | None = None) -> int:
    """One outbox row per active subscriber (idempotent); returns how many rows were new.

    Every section variant the subscribers need is composed and checked first, so a template error stops
    the digest before its first row.
    """
    newsletter = app.settings.digest
    compose_variants(app, digest, {sections_key(s.sections) for s in active_subscribers(app, newsletter)})
    rows = (
        {
            "key": f"digest:{digest.slug}:{subscriber.id}",
            "channel": "email",
            "recipient": subscriber.email,
            "digest_id": digest.id,
            "subscriber_id": subscriber.id,
        }
        for subscriber in without_suppressed(app.engine, active_subscribers(app, newsletter))
    )
    created = outbox.enqueue_many(app.engine, _ticking(rows, progress))
    with session_scope(app.engine) as session:
        row = session.get_one(Digest, digest.id)
        total = session.exec(
            select(sa.func.count())
            .select_from(Delivery)
            .where(Delivery.digest_id == digest.id, Delivery.subscriber_id.is_not(None))  # type: ignore[union-attr]
        ).one()
        row.recipients = int(total)  # test copies (no subscriber) are not recipients
        row.status = DigestStatus.QUEUED
        row.queued_at = row.queued_at or utcnow()
    return created


def count_recipients(app: App) -> int:
    return sum(1 for _ in active_subscribers(app, app.settings.digest))


@dataclass(frozen=True, slots=True)
class PreviewPage:
    """The exact bytes a subscriber would read: what ``digest preview`` writes and a web route serves."""

    html: bytes
    text: bytes
    personal: Personal
    warning: str | None


def render_preview(app: App, digest: Digest, *, email: str | None = None) -> PreviewPage:
    """The digest as ``email`` (or an example reader) gets it: their section variant, name and links.

    LookupError when ``email`` is not a subscriber, so a typo does not preview someone else's copy.
    """
    subscriber: Subscriber | None = None
    if email:
        with session_scope(app.engine) as session:
            subscriber = session.exec(select(Subscriber).where(Subscriber.email == email)).first()
        if subscriber is None:
            raise LookupError(f"no subscriber {email!r}; check the address or leave out --subscriber")
    html, text = digest.html, digest.text
    if subscriber is not None and sections_key(subscriber.sections):
        compose_variants(app, digest, [sections_key(subscriber.sections)])
        with session_scope(app.engine) as session:
            variant = session.exec(
                select(DigestVariant).where(
                    DigestVariant.digest_id == digest.id,
                    DigestVariant.sections_key == sections_key(subscriber.sections),
                )
            ).first()
        if variant is not None:
            html, text = variant.html, variant.text
    personal = personal_for(
        app,
        digest_slug=digest.slug,
        subscriber_id=subscriber.id or 0 if subscriber else 0,
        email=subscriber.email if subscriber else "preview@example.org",
        name=subscriber.name if subscriber else None,
        delivery_id=0,
        newsletter=digest.newsletter,
    )
    page_html = fill_preview(html, personal).encode("utf-8")
    warning = size_warning(len(html.encode("utf-8")), app.settings.digest.max_html_bytes)
    return PreviewPage(page_html, fill_preview(text, personal).encode("utf-8"), personal, warning)


def preview(app: App, digest: Digest, *, email: str | None = None) -> tuple[Path, Path, Personal]:
    """Write the exact HTML and text a subscriber would get to ``var/preview/``; return their paths."""
    page = render_preview(app, digest, email=email)
    target = app.settings.var_dir / "preview"
    target.mkdir(parents=True, exist_ok=True)
    html_path, text_path = target / f"{digest.slug}.html", target / f"{digest.slug}.txt"
    html_path.write_bytes(page.html)
    text_path.write_bytes(page.text)
    return html_path, text_path, page.personal
