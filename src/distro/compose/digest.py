"""Compose the weekly digest once: Jinja -> MJML -> HTML -> premailer, a text part, and the message template.

Everything is rendered and checked before anything is returned, so a template error stops the digest with a
:class:`~distro.errors.RenderError` and nothing is queued. Per-subscriber values are slot markers (see
:mod:`distro.compose.message`); :class:`~distro.compose.message.PreparedMessage` fills them per send.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import premailer

from distro.compose.archive import archive_url
from distro.compose.intro import intro_html, intro_text
from distro.compose.links import add_utm
from distro.compose.message import build_message_template, check_markers, defuse, subscriber_slots
from distro.compose.mjml_strict import compile_mjml
from distro.compose.templating import read_time, render, render_string
from distro.compose.tracking import Tracker, track_html
from distro.errors import RenderError
from distro.models import Article
from distro.settings import DigestSettings, Settings

log = logging.getLogger(__name__)

HTML_TEMPLATE = "email/digest.mjml.j2"  # the default; a newsletter's ``template`` names its own pair
EMPTY_HTML_TEMPLATE = "email/empty.mjml.j2"
EMPTY_TEXT_TEMPLATE = "email/empty.txt.j2"
SUBJECT_SETTING = "settings.digest.subject"  # names the setting in errors (a newsletter's ``subject``)
OTHER_SECTION = "More"
GMAIL_CLIP_BYTES = 102 * 1024  # Gmail hides ("clips") anything after this much HTML
WORDS_PER_MINUTE = 230


@dataclass(frozen=True)
class Story:
    """An article as the digest shows it; ``url`` already carries the UTM parameters."""

    title: str
    url: str
    summary: str
    author: str | None
    section: str | None  # None when the article has none; listed under "More"
    image_url: str | None
    published_at: datetime
    article_id: int | None = None
    image_alt: str = ""  # the picture's description from the feed; "" when it only repeats the headline
    word_count: int = 0  # the whole article's (0: unknown, the summary is counted instead)

    @property
    def read_minutes(self) -> int:
        """Minutes to read the article itself (its word count), not the teaser shown here."""
        if self.word_count > 0:
            return max(1, round(self.word_count / WORDS_PER_MINUTE))
        return read_time(self.summary)


@dataclass(frozen=True)
class Edition:
    """The editor's choices for one digest; None or empty means "as the settings say"."""

    intro: str = ""  # Markdown
    pinned_article_id: int | None = None  # the lead story, when it is in the window
    excluded_article_ids: frozenset[int] = field(default_factory=frozenset)
    max_stories: int | None = None
    sections: tuple[str, ...] | None = None  # section order


@dataclass(frozen=True)
class ComposedDigest:
    """The digest as stored: ``html`` and ``text`` hold slot markers; ``size_bytes`` is the HTML's size."""

    subject: str
    html: str
    text: str
    message_template: str
    size_bytes: int
    article_ids: tuple[int, ...] = ()  # the stories shown, lead first

    @property
    def size_warning(self) -> str | None:
        return size_warning(self.size_bytes)


def size_warning(size: int, limit: int = GMAIL_CLIP_BYTES) -> str | None:
    """A sentence for the editor when the HTML is over ``limit`` bytes (Gmail clips it), else None."""
    if size <= limit:
        return None
    return (
        f"the digest HTML is {size / 1024:.1f} KB ({size} bytes); Gmail clips messages over "
        f"{limit / 1024:.0f} KB: remove stories (--max-stories) or shorten the intro"
    )


def compose_digest(
    *,
    settings: Settings,
    newsletter: DigestSettings,
    env: jinja2.Environment,
    slug: str,
    articles: Sequence[Article],
    now: datetime,
    edition: Edition | None = None,
    only_sections: Collection[str] | None = None,
    tracker: Tracker | None = None,
) -> ComposedDigest:
    """Render ``newsletter``'s edition of ``articles`` (at most ``max_stories``, pinned lead first, then
    newest first); ``settings`` gives the publication and email settings.

    ``only_sections`` keeps the stories of those sections (case-insensitive) for a subscriber's variant;
    ``tracker`` rewrites the HTML part's links (:mod:`distro.compose.tracking`), None leaves them direct.
    Raises :class:`RenderError` for any template or MJML problem and ValueError when no article is left
    (there is no lead story to write about).
    """
    edition = edition or Edition(intro=newsletter.intro)
    stories = _select(newsletter, slug, articles, edition)
    if only_sections is not None:
        wanted = {name.casefold() for name in only_sections}
        stories = [s for s in stories if s.section and s.section.casefold() in wanted]
    if not stories:
        raise ValueError("a digest needs at least one article")
    lead = _lead(stories, edition.pinned_article_id)
    rest = [s for s in stories if s is not lead]
    intro = defuse(edition.intro)
    context: dict[str, Any] = {
        "publication": settings.publication,
        "digest": newsletter,
        "email": settings.email,
        "home_url": _tag(newsletter, slug, settings.publication.url),
        "archive_url": _archive_url(settings, newsletter, slug),
        "lead": lead,
        "sections": _group(rest, edition.sections or newsletter.sections),
        "stories": stories,
        "intro_html": intro_html(intro),
        "intro_text": intro_text(intro),
        "slug": slug,
        "now": now,
        "week": now.astimezone(ZoneInfo(newsletter.timezone)).isocalendar()[1],
    }
    subject = " ".join(render_string(env, newsletter.subject, context, SUBJECT_SETTING).split())
    templates = (f"email/{newsletter.template}.mjml.j2", f"email/{newsletter.template}.txt.j2")
    composed = _finish(settings, newsletter, env, slug, subject, context, templates, tracker)
    ids = tuple(s.article_id for s in [lead, *rest] if s.article_id is not None)
    return ComposedDigest(**{**composed.__dict__, "article_ids": ids})


def _lead(stories: Sequence[Story], pin: int | None) -> Story:
    """The pinned story, else the first with an image, else the newest."""
    pinned = next((s for s in stories if pin is not None and s.article_id == pin), None)
    return pinned or next((s for s in stories if s.image_url), stories[0])


def compose_empty(
    *,
    settings: Settings,
    newsletter: DigestSettings,
    env: jinja2.Environment,
    slug: str,
    now: datetime,
    tracker: Tracker | None = None,
) -> ComposedDigest:
    """The short "nothing new this week" note (``empty_week = "note"``)."""
    context: dict[str, Any] = {
        "publication": settings.publication,
        "digest": newsletter,
        "email": settings.email,
        "home_url": _tag(newsletter, slug, settings.publication.url),
        "archive_url": _archive_url(settings, newsletter, slug),
        "slug": slug,
        "now": now,
    }
    subject = f"{settings.publication.name}: no new stories this week"
    templates = (EMPTY_HTML_TEMPLATE, EMPTY_TEXT_TEMPLATE)
    return _finish(settings, newsletter, env, slug, subject, context, templates, tracker)


def _finish(
    settings: Settings,
    newsletter: DigestSettings,
    env: jinja2.Environment,
    slug: str,
    subject: str,
    context: dict[str, Any],
    templates: tuple[str, str],
    tracker: Tracker | None = None,
) -> ComposedDigest:
    """Render both parts with slot markers, compile and inline the HTML, track its links (once per
    variant, never per reader), check it, build the message."""
    html_template, text_template = templates
    fallback = newsletter.greeting_fallback
    text = render(
        env, text_template, {**context, "subscriber": subscriber_slots("text", greeting_fallback=fallback)}
    )
    source = render(
        env, html_template, {**context, "subscriber": subscriber_slots("html", greeting_fallback=fallback)}
    )
    html = _inline_css(compile_mjml(source, html_template))
    if tracker is not None:
        stories = {s.url: (s.title, s.article_id) for s in context.get("stories", ())}
        html = track_html(html, tracker, own_url=settings.web.public_url, stories=stories)
    _check_slots(html, "html", html_template)
    _check_slots(text, "text", text_template)
    size = len(html.encode("utf-8"))
    warning = size_warning(size, newsletter.max_html_bytes)
    if warning:
        log.warning("digest %s: %s", slug, warning)
    template = build_message_template(
        settings=settings,
        slug=slug,
        subject=subject,
        html=html,
        text=text,
        list_id=settings.list_id_of(newsletter),
        list_label=list_label(settings, newsletter),
    )
    return ComposedDigest(subject=subject, html=html, text=text, message_template=template, size_bytes=size)


def list_label(settings: Settings, newsletter: DigestSettings) -> str:
    """The List-Id's phrase: the publication and, for any newsletter but the main one, its name."""
    if newsletter.slug_prefix == settings.digest.slug_prefix:
        return settings.publication.name
    return f"{settings.publication.name} {newsletter.name}"


def _check_slots(content: str, context: str, template: str) -> None:
    """A filter applied to ``subscriber.*`` (``|upper``, ``|truncate``) would break its slot silently."""
    try:
        check_markers(content, context)
    except ValueError as exc:
        raise RenderError(template, None, f"{exc}; use subscriber.* values unchanged") from exc


def _archive_url(settings: Settings, newsletter: DigestSettings, slug: str) -> str | None:
    """The "View in browser" link: the edition's archive page, None when the newsletter is not archived."""
    return archive_url(settings, slug) if newsletter.archive else None


def _tag(newsletter: DigestSettings, slug: str, url: str) -> str:
    return add_utm(url, source=newsletter.utm_source, medium="email", campaign=slug)


def _published(article: Article) -> datetime:
    when = article.published_at or article.first_seen_at
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _select(
    newsletter: DigestSettings, slug: str, articles: Sequence[Article], edition: Edition
) -> list[Story]:
    """The pinned article, then the newest, without excluded ones, as stories; text from feeds is defused
    so it cannot pose as a slot marker."""
    kept = [a for a in articles if a.id not in edition.excluded_article_ids]
    pin = edition.pinned_article_id
    newest = sorted(kept, key=lambda a: (pin is None or a.id != pin, -_published(a).timestamp()))
    newest = newest[: edition.max_stories or newsletter.max_stories]
    return [
        Story(
            title=defuse(" ".join(a.title.split())),
            url=_tag(newsletter, slug, defuse(a.url, url=True)),
            summary=defuse(a.summary.strip()),
            author=defuse(a.author or "") or None,
            section=defuse((a.section or "").strip()) or None,
            image_url=defuse(a.image_url or "", url=True) or None,
            published_at=_published(a),
            article_id=a.id,
            image_alt=defuse(" ".join((a.image_alt or "").split())),
            word_count=a.word_count or 0,
        )
        for a in newest
    ]


def _group(stories: Sequence[Story], order: Sequence[str]) -> list[tuple[str, list[Story]]]:
    """Stories by section: configured sections in their order (matched case-insensitively), then the
    others alphabetically, then "More" for stories without a section. Empty sections are left out."""
    canonical = {name.casefold(): name for name in order}
    groups: dict[str, list[Story]] = {}
    for story in stories:
        name = story.section or OTHER_SECTION
        groups.setdefault(canonical.get(name.casefold(), name), []).append(story)
    configured = [name for name in order if name in groups]
    others = sorted(
        (n for n in groups if n not in canonical.values() and n != OTHER_SECTION), key=str.casefold
    )
    tail = [OTHER_SECTION] if OTHER_SECTION in groups and OTHER_SECTION not in configured else []
    return [(name, groups[name]) for name in configured + others + tail]


def _inline_css(html: str) -> str:
    """Inline CSS once per digest; keep <style> (media queries for mobile and dark mode) and !important."""
    inlined = premailer.transform(
        html,
        keep_style_tags=True,
        disable_validation=True,
        strip_important=False,
        disable_basic_attributes=["width", "height"],  # keep MJML's numeric <img width> for Outlook
        allow_network=False,
        allow_loading_external_files=False,
        cssutils_logging_level=logging.CRITICAL,
    )
    if not inlined.lstrip()[:9].lower().startswith("<!doctype"):
        inlined = "<!doctype html>\n" + inlined  # premailer drops it; without it clients use quirks mode
    return str(inlined)
