"""Articles -> one newsletter's edition, rendered, checked and stored (not queued).

The edition is rendered, compiled and checked (including one personalised copy) before it is stored, so a
template error stops it before its first message. Opening the same period's edition again returns the
stored one (:func:`open_edition`); saving the editor's edit, or the scheduler at send time, renders it
again (:func:`recompose_edition`) as long as it is not queued: a queued edition never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from distro.app import App
from distro.compose.digest import ComposedDigest, Edition, compose_digest, compose_empty, size_warning
from distro.compose.message import PreparedMessage
from distro.errors import DistroError
from distro.models import Article, Digest, DigestEdit, DigestStatus, utcnow
from distro.services.digest_calendar import digest_slug
from distro.services.personal import personal_for
from distro.services.tracking import EditionLinks, edition_tracker
from distro.settings import DigestSettings
from distro.store import editions


@dataclass(frozen=True, slots=True)
class DigestResult:
    digest: Digest | None  # None: nothing to send (an empty period)
    created: bool
    reason: str = ""
    warning: str | None = None  # e.g. the HTML is over Gmail's clip limit


def in_newsletter(newsletter: DigestSettings, article: Article) -> bool:
    """Whether the article belongs in ``newsletter`` (its ``only_sections``)."""
    only = newsletter.only_sections
    return only is None or (article.section or "").strip().casefold() in {s.casefold() for s in only}


def edition_of(newsletter: DigestSettings, edit: DigestEdit | None) -> Edition:
    """The editor's choices of ``edit``, with the newsletter's intro where the edit has none."""
    if edit is None:
        return Edition(intro=newsletter.intro)
    return Edition(
        intro=newsletter.intro if edit.intro is None else edit.intro,
        pinned_article_id=edit.pinned_article_id,
        excluded_article_ids=frozenset(edit.excluded_article_ids or ()),
        max_stories=edit.max_stories,
        sections=tuple(edit.sections) if edit.sections else None,
    )


def window_articles(
    app: App,
    newsletter: DigestSettings,
    end: datetime,
    *,
    window_days: int | None = None,
    before_slug: str | None = None,
) -> tuple[datetime, list[Article]]:
    """The window's start and its articles, newest first, in the newsletter's sections: first seen since
    the newsletter's previous edition (or in the last ``window_days``) until ``end``.

    ``before_slug`` is the edition being (re)composed, which is not its own previous edition.
    """
    previous = editions.previous_window_end(app.engine, newsletter.slug_prefix, besides=before_slug or "")
    if window_days is not None or previous is None:
        start = end - timedelta(days=window_days or newsletter.window_days)
    else:
        start = previous
    found = editions.articles_in_window(app.engine, start, end)
    return start, [a for a in found if in_newsletter(newsletter, a)]


def check_personalises(app: App, composed: ComposedDigest, slug: str) -> None:
    """Fill every slot of one copy: a slot that cannot fill stops the edition before anything is queued."""
    example = personal_for(
        app, digest_slug=slug, subscriber_id=0, email="check@example.org", name="Check", delivery_id=0
    )
    PreparedMessage.from_template(composed.message_template).render(example)


def size_warning_of(newsletter: DigestSettings, digest: Digest) -> str | None:
    return size_warning(len(digest.html.encode("utf-8")), newsletter.max_html_bytes)


def open_edition(
    app: App, newsletter: DigestSettings, now: datetime | None = None, *, at: datetime | None = None
) -> DigestResult:
    """The newsletter's edition of the period holding ``at`` (default ``now``): the stored one, else
    composed now with the articles until ``now``. ``digest`` is None for an empty period (unless
    ``empty_week = "note"``, which composes the short note instead)."""
    now = now or utcnow()
    slug = digest_slug(newsletter, at or now)
    existing = editions.find(app.engine, slug)
    if existing is not None:
        return _unchanged(newsletter, existing)
    return _compose(app, newsletter, slug, dated=at or now, end=now, existing=None)


def recompose_edition(
    app: App,
    newsletter: DigestSettings,
    now: datetime | None = None,
    *,
    at: datetime | None = None,
    refresh: bool = False,
) -> DigestResult:
    """:func:`open_edition`, rendered again with the period's edit if it is composed and not queued.

    With ``refresh`` its window also moves on to ``now`` (the scheduler, at send time, so an edition
    previewed days before still carries the latest stories); without, it keeps the articles it had.
    """
    now = now or utcnow()
    slug = digest_slug(newsletter, at or now)
    existing = editions.find(app.engine, slug)
    if existing is not None and existing.status != DigestStatus.COMPOSED:
        return _unchanged(newsletter, existing)
    end = existing.window_end if existing is not None and not refresh else now
    return _compose(app, newsletter, slug, dated=at or now, end=end, existing=existing)


def _unchanged(newsletter: DigestSettings, digest: Digest) -> DigestResult:
    reason = f"digest {digest.slug} already {digest.status}"
    return DigestResult(digest, created=False, reason=reason, warning=size_warning_of(newsletter, digest))


def _compose(
    app: App,
    newsletter: DigestSettings,
    slug: str,
    *,
    dated: datetime,
    end: datetime,
    existing: Digest | None,
) -> DigestResult:
    """Render edition ``slug`` (dated ``dated``) of the articles until ``end`` with its edit; store it."""
    edit = editions.load_edit(app.engine, slug)
    window_days = edit.window_days if edit else None
    start, articles = window_articles(app, newsletter, end, window_days=window_days, before_slug=slug)
    edition = edition_of(newsletter, edit)
    left = [a for a in articles if a.id not in edition.excluded_article_ids]
    if not left and newsletter.empty_week == "skip":
        if existing is not None:
            raise DistroError(f"the edit of {slug} leaves no stories; remove an excluded article")
        since = start.astimezone(ZoneInfo(newsletter.timezone))  # as the desk and the schedule read it
        return DigestResult(None, created=False, reason=f"no new articles since {since:%Y-%m-%d %H:%M %Z}")
    tracker = edition_tracker(app, slug)
    kept = articles if left else []
    composed = _render(app, newsletter, slug, dated=dated, articles=kept, edition=edition, tracker=tracker)
    check_personalises(app, composed, slug)
    if tracker is not None:
        tracker.save()  # before the edition: its links must exist by the time any copy of it does
    draft = Digest(
        slug=slug,
        newsletter=newsletter.slug_prefix,
        subject=composed.subject,
        window_start=start,
        window_end=end,
        html=composed.html,
        text=composed.text,
        message_template=composed.message_template,
        article_ids=list(composed.article_ids),
    )
    digest = editions.store_composed(app.engine, draft, replacing=existing.id if existing else None)
    warning = size_warning(composed.size_bytes, newsletter.max_html_bytes)
    return DigestResult(digest, created=existing is None, warning=warning)


def _render(
    app: App,
    newsletter: DigestSettings,
    slug: str,
    *,
    dated: datetime,
    articles: list[Article],
    edition: Edition,
    tracker: EditionLinks | None,
) -> ComposedDigest:
    """The edition of ``articles`` (the editor's choices applied), or the short note when there are none;
    ``tracker`` numbers its tracked links."""
    if not articles:
        return compose_empty(
            settings=app.settings,
            newsletter=newsletter,
            env=app.templates,
            slug=slug,
            now=dated,
            tracker=tracker,
        )
    return compose_digest(
        settings=app.settings,
        newsletter=newsletter,
        env=app.templates,
        slug=slug,
        articles=articles,
        now=dated,
        edition=edition,
        tracker=tracker,
    )
