"""Turn an article into the exact request body for each account, from its platform's template.

The body built here is what the file sink writes and what the API channel sends, so a dry run shows the
real thing. Each platform's limit, count and body come from :mod:`distro.platforms`; :data:`RULES` binds
them to the settings (Mastodon's instance limit, visibility, the publication's language). Adding a platform
is one module there, its channel, one template and one rule here.

Templates: ``social/<platform>.<Section>.txt.j2`` when it exists (e.g. ``x.Security.txt.j2``), else
``social/<platform>.txt.j2``; hashtags per section come from ``[social] hashtags``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jinja2

from distro.accounts import Account, configured_accounts
from distro.compose.links import add_utm
from distro.compose.templating import render
from distro.errors import InvalidInput, RenderError
from distro.models import Article, utcnow
from distro.platforms import bluesky, facebook, linkedin, mastodon, threads, x
from distro.platforms.text import shorten
from distro.sanitize import whole_graphemes
from distro.settings import Settings


@dataclass(frozen=True, slots=True)
class PlannedPost:
    platform: str
    account: str
    text: str
    body: dict[str, Any]
    channel: str = ""  # the account's channel; defaults to the platform's first account
    # Why the text cannot fit the platform (stored as a failed delivery the editor can fix); "" when it fits.
    error: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    """How a platform counts and limits text, and how text + link become its request body."""

    limit: Callable[[Settings], int]
    measure: Callable[[str], int]
    body: Callable[[str, str, Settings, datetime], dict[str, Any]]
    link_in_text: bool = True  # False: the link travels beside the text (Facebook's preview card)
    # Why the platform refuses a text whatever its length ("" when it does not); and the text cleaned of
    # what it refuses, for the composer (an editor is told instead).
    refusal: Callable[[str], str] = lambda text: ""
    clean: Callable[[str], str] = lambda text: text


RULES: dict[str, Rule] = {
    "x": Rule(
        lambda s: x.LIMIT,
        x.length,
        lambda text, link, s, now: x.build_body(text),
        refusal=x.refusal,
        clean=x.without_invalid,
    ),
    "facebook": Rule(
        lambda s: facebook.LIMIT,
        facebook.length,
        lambda text, link, s, now: facebook.build_body(text, link),
        link_in_text=False,
    ),
    "mastodon": Rule(
        lambda s: s.mastodon.max_length,
        mastodon.length,
        lambda text, link, s, now: mastodon.build_body(
            text, visibility=s.mastodon.visibility, language=s.publication.language
        ),
    ),
    "bluesky": Rule(
        lambda s: bluesky.LIMIT,
        bluesky.length,
        lambda text, link, s, now: bluesky.build_body(text, created_at=now, language=s.publication.language),
    ),
    "threads": Rule(
        lambda s: threads.LIMIT, threads.length, lambda text, link, s, now: threads.build_body(text, link)
    ),
    # The link travels in the article card (plan_account adds its title and description), but the text is
    # still cut at word boundaries, measured escaped as LinkedIn receives it.
    "linkedin": Rule(
        lambda s: linkedin.LIMIT,
        linkedin.length,
        lambda text, link, s, now: linkedin.build_body(
            text, organization_id=s.linkedin.organization_id, link=link
        ),
    ),
}


SocialLink = Callable[[Article, str], str]  # (article, platform) -> the URL the post links to


def article_link(url: str, platform: str) -> str:
    """Where a post on ``platform`` sends its readers: the article, tagged for the platform. The redirector
    computes it again from the stored article, so a tracked social link leads nowhere else."""
    return add_utm(url, source=platform, medium="social", campaign="article")


def _context(
    article: Article, *, platform: str, settings: Settings, links: SocialLink | None = None
) -> dict[str, Any]:
    link = links(article, platform) if links is not None else article_link(article.url, platform)
    return {
        "article": article,
        "link": link,
        "hashtags": list(settings.social.hashtags.get(article.section or "", ())),
        "publication": settings.publication,
    }


def template_name(env: jinja2.Environment, platform: str, section: str | None) -> str:
    """The section's override template when there is one, else the platform's."""
    if section:
        candidate = f"social/{platform}.{section}.txt.j2"
        try:
            env.get_template(candidate)
            return candidate
        except jinja2.TemplateNotFound:
            pass
    return f"social/{platform}.txt.j2"


def _render_text(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    text = render(env, name, context).strip()
    if not text:
        raise RenderError(name, None, "template rendered an empty post")
    return text


def fit(platform: str, text: str, settings: Settings) -> str:
    """``text`` cut to the platform's limit (word boundary, links and hashtags kept)."""
    rule = RULES[platform]
    limit, text = rule.limit(settings), rule.clean(text)
    if not rule.link_in_text:
        return whole_graphemes(text, limit)
    try:
        return shorten(text, limit, measure=rule.measure)
    except ValueError as exc:
        raise Unfit(f"social/{platform}.txt.j2", None, str(exc)) from None


class Unfit(RenderError):
    """The text cannot be cut to the platform's limit: its URLs and hashtags alone are over it."""


def _fit_or_keep(platform: str, text: str, settings: Settings) -> tuple[str, str]:
    """(fitted text, "") or, when nothing fits, (the text as rendered, why): one post's problem, which the
    planner records as that post's failure so every other article and platform still goes out."""
    try:
        return fit(platform, text, settings), ""
    except Unfit as exc:
        return text, exc.reason


def check_fits(platform: str, text: str, settings: Settings) -> None:
    """InvalidInput naming the count and the limit when an editor's text is too long for the platform, or
    what the platform refuses in it (X: twitter-text's invalid characters)."""
    rule = RULES[platform]
    if refused := rule.refusal(text):
        raise InvalidInput(f"{platform} refuses the text: {refused}")
    length, limit = rule.measure(text), rule.limit(settings)
    if length > limit:
        raise InvalidInput(f"the text is {length} long as {platform} counts it; the limit is {limit}")


def build_body(
    platform: str,
    text: str,
    link: str,
    settings: Settings,
    now: datetime | None = None,
    *,
    photo_url: str | None = None,
) -> dict[str, Any]:
    """The platform's request body for ``text``; ``photo_url`` makes a Facebook post a photo post."""
    if platform == "facebook" and photo_url:
        return facebook.build_photo_body(text, photo_url)
    return RULES[platform].body(text, link, settings, now or utcnow())


def rewrite_body(
    platform: str, body: dict[str, Any], text: str, settings: Settings, now: datetime | None = None
) -> dict[str, Any]:
    """``body`` with an editor's ``text``; what else it carries (link, photo, author, card) stays."""
    if platform == "linkedin":
        return linkedin.with_text(body, text)
    if platform == "threads":
        return threads.build_body(text, body.get("link_attachment"))
    photo = str(body["url"]) if "url" in body else None  # a photo post stays one
    return build_body(platform, text, body.get("link") or "", settings, now, photo_url=photo)


def plan_account(
    env: jinja2.Environment,
    article: Article,
    account: Account,
    settings: Settings,
    now: datetime,
    links: SocialLink | None = None,
) -> PlannedPost | None:
    """The account's post for ``article``, or None when the article's section is not the account's.

    ``links`` gives the post's link (a tracked one, with ``tracking.social_links``); None: the article's
    URL with the platform's UTM tags."""
    if not account.wants(article.section):
        return None
    context = _context(article, platform=account.platform, settings=settings, links=links)
    name = template_name(env, account.platform, article.section)
    rendered = _render_text(env, name, context)
    if account.platform == "x" and settings.x.thread and x.length(rendered) > x.LIMIT:
        # The summary follows as replies (x_thread): the first tweet is the title and the link.
        tags = " ".join(context["hashtags"])
        rendered = f"{article.title}\n\n{context['link']}" + (f" {tags}" if tags else "")
    text, error = _fit_or_keep(account.platform, rendered, settings)
    photo_url = article.image_url if account.platform == "facebook" and settings.facebook.photo else None
    if photo_url and not error:
        # A photo post has no link preview: the link goes into the caption, under the text.
        text = fit("facebook", text if context["link"] in text else f"{text}\n\n{context['link']}", settings)
    body = build_body(account.platform, text, context["link"], settings, now, photo_url=photo_url)
    if account.platform == "linkedin":  # the account's page, with the article as the card
        organization = account.organization_id or settings.linkedin.organization_id
        card = {"title": article.title, "description": article.summary}
        body = linkedin.build_body(text, organization_id=organization, link=context["link"], **card)
    return PlannedPost(account.platform, account.name, text, body, account.channel, error)


def x_thread(article: Article, first_text: str, settings: Settings) -> tuple[str, ...]:
    """With ``x.thread``, the summary as replies when the first tweet does not carry it, else ()."""
    summary = " ".join(article.summary.split())
    if not settings.x.thread or not summary or summary in " ".join(first_text.split()):
        return ()
    return x.thread_parts(summary)


def x_media(article: Article, settings: Settings) -> tuple[str | None, str]:
    """With ``x.media``, the article's image and its alt text (the title, at most 1000 characters)."""
    if not settings.x.media or not article.image_url:
        return None, ""
    return article.image_url, whole_graphemes(article.title, x.MAX_ALT_TEXT)


def plan_posts(
    env: jinja2.Environment,
    article: Article,
    settings: Settings,
    now: datetime | None = None,
    links: SocialLink | None = None,
) -> list[PlannedPost]:
    """One post per account whose sections include the article's; raises RenderError before storing."""
    now = now or utcnow()
    accounts = configured_accounts(settings)
    posts = [plan_account(env, article, account, settings, now, links) for account in accounts]
    return [post for post in posts if post is not None]
