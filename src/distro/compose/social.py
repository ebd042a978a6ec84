"""Turn an article into the exact request body for each platform, from the platform's template.

The body built here is what the file sink writes and what the API channel sends, so a dry run shows the
real thing. Length rules live with the platform (X: 280 weighted; Facebook: 63,206 characters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2

from distro.channels import facebook, x
from distro.compose.links import add_utm
from distro.compose.templating import render
from distro.compose.textlength import X_LIMIT, shorten
from distro.errors import RenderError
from distro.models import Article
from distro.settings import Settings

FACEBOOK_LIMIT = 63_206

# Hashtags per section; a later issue moves these to settings with per-section template overrides.
SECTION_HASHTAGS: dict[str, tuple[str, ...]] = {
    "Security": ("#Security",),
    "Geopolitics": ("#Geopolitics",),
    "Economy": ("#Economy",),
}


@dataclass(frozen=True, slots=True)
class PlannedPost:
    platform: str
    account: str
    text: str
    body: dict[str, Any]


def _context(article: Article, *, platform: str, settings: Settings) -> dict[str, Any]:
    link = add_utm(article.url, source=platform, medium="social", campaign="article")
    return {
        "article": article,
        "link": link,
        "hashtags": list(SECTION_HASHTAGS.get(article.section or "", ())),
        "publication": settings.publication,
    }


def _render_text(env: jinja2.Environment, platform: str, context: dict[str, Any]) -> str:
    text = render(env, f"social/{platform}.txt.j2", context).strip()
    if not text:
        raise RenderError(f"social/{platform}.txt.j2", None, "template rendered an empty post")
    return text


def plan_posts(env: jinja2.Environment, article: Article, settings: Settings) -> list[PlannedPost]:
    """One post per enabled platform; raises RenderError before anything is stored."""
    posts: list[PlannedPost] = []
    if settings.x.enabled:
        context = _context(article, platform="x", settings=settings)
        text = shorten(_render_text(env, "x", context), X_LIMIT)
        posts.append(PlannedPost("x", settings.x.account, text, x.build_body(text)))
    if settings.facebook.enabled:
        context = _context(article, platform="facebook", settings=settings)
        text = _render_text(env, "facebook", context)[:FACEBOOK_LIMIT]
        body = facebook.build_body(text, context["link"])
        posts.append(PlannedPost("facebook", settings.facebook.page_id, text, body))
    return posts
