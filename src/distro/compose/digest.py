"""Compose the weekly digest once: Jinja -> MJML -> HTML -> premailer, a text part, and the message template.

Everything is rendered and checked before anything is returned, so a template error stops the digest with a
:class:`~distro.errors.RenderError` and nothing is queued. Per-subscriber values are slot markers (see
:mod:`distro.compose.message`); :class:`~distro.compose.message.PreparedMessage` fills them per send.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jinja2
import mjml
import premailer

from distro.compose.links import add_utm
from distro.compose.message import build_message_template, check_markers, defuse, subscriber_slots
from distro.compose.templating import render, render_string
from distro.errors import RenderError
from distro.models import Article
from distro.settings import Settings

log = logging.getLogger(__name__)

HTML_TEMPLATE = "email/digest.mjml.j2"
TEXT_TEMPLATE = "email/digest.txt.j2"
SUBJECT_SETTING = "settings.digest.subject"
OTHER_SECTION = "More"
GMAIL_CLIP_BYTES = 102 * 1024  # Gmail hides ("clips") anything after this much HTML


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


@dataclass(frozen=True)
class ComposedDigest:
    """The digest as stored: ``html`` and ``text`` hold slot markers; ``size_bytes`` is the HTML's size."""

    subject: str
    html: str
    text: str
    message_template: str
    size_bytes: int


def compose_digest(
    *, settings: Settings, env: jinja2.Environment, slug: str, articles: Sequence[Article], now: datetime
) -> ComposedDigest:
    """Render the digest of ``articles`` (at most ``settings.digest.max_stories``, newest first).

    Raises :class:`RenderError` for any template or MJML problem and ValueError when ``articles`` is
    empty (there is no lead story to write about).
    """
    stories = _select(settings, slug, articles)
    if not stories:
        raise ValueError("a digest needs at least one article")
    lead = next((s for s in stories if s.image_url), stories[0])
    rest = [s for s in stories if s is not lead]
    context: dict[str, Any] = {
        "publication": settings.publication,
        "digest": settings.digest,
        "email": settings.email,
        "home_url": _tag(settings, slug, settings.publication.url),
        "lead": lead,
        "sections": _group(rest, settings.digest.sections),
        "stories": stories,
        "slug": slug,
        "now": now,
    }
    subject = " ".join(render_string(env, settings.digest.subject, context, SUBJECT_SETTING).split())
    fallback = settings.digest.greeting_fallback
    text = render(
        env, TEXT_TEMPLATE, {**context, "subscriber": subscriber_slots("text", greeting_fallback=fallback)}
    )
    source = render(
        env, HTML_TEMPLATE, {**context, "subscriber": subscriber_slots("html", greeting_fallback=fallback)}
    )
    html = _inline_css(_compile_mjml(source))
    _check_slots(html, "html", HTML_TEMPLATE)
    _check_slots(text, "text", TEXT_TEMPLATE)
    size = len(html.encode("utf-8"))
    if size > GMAIL_CLIP_BYTES:
        log.warning(
            "digest %s HTML is %d bytes; Gmail clips messages above %d bytes", slug, size, GMAIL_CLIP_BYTES
        )
    template = build_message_template(settings=settings, slug=slug, subject=subject, html=html, text=text)
    return ComposedDigest(subject=subject, html=html, text=text, message_template=template, size_bytes=size)


def _check_slots(content: str, context: str, template: str) -> None:
    """A filter applied to ``subscriber.*`` (``|upper``, ``|truncate``) would break its slot silently."""
    try:
        check_markers(content, context)
    except ValueError as exc:
        raise RenderError(template, None, f"{exc}; use subscriber.* values unchanged") from exc


def _tag(settings: Settings, slug: str, url: str) -> str:
    return add_utm(url, source=settings.digest.utm_source, medium="email", campaign=slug)


def _published(article: Article) -> datetime:
    when = article.published_at or article.first_seen_at
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _select(settings: Settings, slug: str, articles: Sequence[Article]) -> list[Story]:
    """The newest articles as stories; text from feeds is defused so it cannot pose as a slot marker."""
    newest = sorted(articles, key=_published, reverse=True)[: settings.digest.max_stories]
    return [
        Story(
            title=defuse(" ".join(a.title.split())),
            url=_tag(settings, slug, defuse(a.url, url=True)),
            summary=defuse(a.summary.strip()),
            author=defuse(a.author or "") or None,
            section=defuse((a.section or "").strip()) or None,
            image_url=defuse(a.image_url or "", url=True) or None,
            published_at=_published(a),
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


def _compile_mjml(source: str) -> str:
    try:
        return str(mjml.mjml2html(source, fonts={}))  # no web-font imports: they track readers
    except (ValueError, RuntimeError) as exc:  # mjml-python reports MJML parse errors as ValueError
        raise RenderError(
            HTML_TEMPLATE, None, f"MJML could not compile the rendered template: {exc}"
        ) from exc


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
