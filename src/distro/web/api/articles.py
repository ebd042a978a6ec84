"""``/api/v1/articles``: the stored articles, and one pushed by a client as the signed CMS webhook would.

A created article goes through the webhook's own parsing (:func:`distro.sources.webhook.parse_payload`:
the URL made canonical, the summary sanitised, the section from the categories) and storage
(:func:`distro.services.articles.store_pushed`): the same story from the CMS, a feed and the API is one
article, and an older version never overwrites a newer one.
"""

from __future__ import annotations

import json
from datetime import datetime

import fastapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from distro.app import App
from distro.models import Article
from distro.services import api_pages
from distro.services.api_tokens import Caller, record_write
from distro.services.articles import store_pushed
from distro.services.webhook import WEBHOOK_SOURCE
from distro.sources.webhook import WebhookRejected, parse_payload
from distro.web.api.auth import Reader, Writer
from distro.web.api.bodies import Body, UtcDatetime
from distro.web.api.pages import Cursor, Id, Limit, Page, after, page
from distro.web.api.problems import ApiProblem, answer, responses
from distro.web.deps import AppDep

router = fastapi.APIRouter(prefix="/articles", tags=["articles"])
_TEXT = 100_000


class ArticleIn(Body):
    """An article as the CMS webhook takes one; only ``url`` (absolute http(s)) is required."""

    url: str = Field(max_length=2000)
    guid: str | None = Field(default=None, max_length=1000)
    title: str | None = Field(default=None, max_length=_TEXT)
    summary: str | None = Field(default=None, max_length=_TEXT)
    content: str | None = Field(default=None, max_length=_TEXT)
    author: str | None = Field(default=None, max_length=300)
    section: str | None = Field(default=None, max_length=200)
    categories: list[str] = Field(default_factory=list, max_length=50)
    image_url: str | None = Field(default=None, max_length=2000)
    published_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None  # the CMS's version time: an older one never overwrites a newer


class ArticleOut(BaseModel):
    id: int
    url: str
    guid: str | None
    title: str
    summary: str
    author: str | None
    section: str | None
    image_url: str | None
    published_at: datetime | None
    first_seen_at: datetime
    updated_at: datetime


class StoredArticle(BaseModel):
    outcome: str  # new, updated, unchanged or stale (older than the version stored: left alone)
    article: ArticleOut


def article_out(article: Article) -> ArticleOut:
    return ArticleOut.model_validate(article, from_attributes=True)


@router.get("", response_model=Page[ArticleOut], responses=responses(401, 422, 429))
def list_articles(_caller: Reader, app: AppDep, cursor: Cursor = None, limit: Limit = 50) -> Page[ArticleOut]:
    """Stored articles in the order they were first stored."""
    rows = api_pages.articles(app, after=after(cursor), limit=limit + 1)
    return page(rows, limit, lambda a: a.id or 0, article_out)


@router.get("/{article_id}", response_model=ArticleOut, responses=responses(401, 404, 422, 429))
def get_article(article_id: Id, _caller: Reader, app: AppDep) -> ArticleOut:
    return article_out(api_pages.article(app, article_id))


def _store(app: App, caller: Caller, body: ArticleIn) -> tuple[str, Article]:
    raw = json.dumps(body.model_dump(mode="json", exclude_none=True)).encode()
    try:
        drafts = parse_payload(raw)
    except WebhookRejected as exc:
        raise ApiProblem(422, exc.reason) from None
    report = store_pushed(app, WEBHOOK_SOURCE, "webhook", drafts)
    outcome = (
        "new" if report.new else "updated" if report.updated else "stale" if report.stale else "unchanged"
    )
    stored = api_pages.article_at(app, drafts[0].url)
    if outcome in ("new", "updated"):
        record_write(app, caller, "article.create", f"article {stored.id}", f"{outcome}: {stored.url}")
    return outcome, stored


@router.post(
    "",
    status_code=201,
    response_model=StoredArticle,
    responses=answer(200, StoredArticle, "the article was known") | responses(401, 403, 422, 429),
)
async def create_article(body: ArticleIn, caller: Writer, app: AppDep) -> JSONResponse:
    """Store an article (201 when new; 200 with ``updated``, ``unchanged`` or ``stale`` when known)."""
    outcome, stored = await run_in_threadpool(_store, app, caller, body)
    answer = StoredArticle(outcome=outcome, article=article_out(stored))
    return JSONResponse(answer.model_dump(mode="json"), status_code=201 if outcome == "new" else 200)
