"""``/api/v1/posts``: the social queue (waiting, held, in flight, failed lately), by delivery id, and what
the desk does to a post: edit its text, hold it, release it, post it now (the same use cases)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import fastapi
from pydantic import BaseModel, Field

from distro.app import App
from distro.errors import InvalidInput
from distro.models import DeliveryStatus
from distro.services import api_pages, plan
from distro.services.api_tokens import Caller, record_write
from distro.services.post_now import PostNowOutcome, post_now
from distro.services.social import edit_delivery
from distro.services.social_queue import QueuedPost, queued_post
from distro.web.api.auth import Reader, Writer
from distro.web.api.bodies import Body
from distro.web.api.pages import Cursor, Id, Limit, Page, after, page
from distro.web.api.problems import ApiProblem, responses
from distro.web.deps import AppDep

router = fastapi.APIRouter(prefix="/posts", tags=["posts"])
_WRITE = responses(401, 403, 404, 409, 422, 429)


class PostOut(BaseModel):
    id: int  # the post's delivery id
    platform: str
    account: str
    article_id: int | None  # None: a post written on the desk, not about an article
    title: str
    url: str
    text: str  # exactly what the stored body sends
    length: int  # as the platform counts it
    limit: int
    status: DeliveryStatus
    next_attempt_at: datetime
    attempts: int
    last_error: str | None
    thread: list[str]  # X replies after the first post
    editable: bool


class TextIn(Body):
    text: Annotated[str, Field(min_length=1, max_length=70_000)]


class PostedNow(BaseModel):
    post: PostOut
    outcome: PostNowOutcome  # sent, retry (tried again later), failed, or busy (a worker has it)
    detail: str


def post_out(post: QueuedPost) -> PostOut:
    return PostOut(
        id=post.delivery_id,
        platform=post.platform,
        account=post.account,
        article_id=post.article_id,
        title=post.title,
        url=post.url,
        text=post.text,
        length=post.length,
        limit=post.limit,
        status=DeliveryStatus(post.status),
        next_attempt_at=post.next_attempt_at,
        attempts=post.attempts,
        last_error=post.last_error,
        thread=list(post.thread),
        editable=post.editable,
    )


@router.get("", response_model=Page[PostOut], responses=responses(401, 422, 429))
def list_posts(
    _caller: Reader,
    app: AppDep,
    cursor: Cursor = None,
    limit: Limit = 50,
    status: DeliveryStatus | None = None,
) -> Page[PostOut]:
    rows = api_pages.posts(app, after=after(cursor), limit=limit + 1, status=status)
    return page(rows, limit, lambda p: p.delivery_id, post_out)


@router.get("/{post_id}", response_model=PostOut, responses=responses(401, 404, 422, 429))
def get_post(post_id: Id, _caller: Reader, app: AppDep) -> PostOut:
    return post_out(queued_post(app, post_id))


def _state(change: str, app: App, caller: Caller, post_id: int) -> PostOut:
    """Hold or release, then record it; a post past the point of holding is a 409."""
    post = queued_post(app, post_id)
    try:
        if change == "hold":
            changed = plan.hold(app.engine, [post_id])
        else:
            changed = plan.release(app.engine, app.settings, [post_id])
    except InvalidInput as exc:
        raise ApiProblem(409, str(exc)) from None
    if changed:
        record_write(app, caller, f"post.{change}", f"post {post_id}", post.label)
    return post_out(queued_post(app, post_id))


@router.patch("/{post_id}", response_model=PostOut, responses=_WRITE)
def edit(post_id: Id, body: TextIn, caller: Writer, app: AppDep) -> PostOut:
    """Replace the text before it is sent; it must fit the platform as the platform counts."""
    post = queued_post(app, post_id)
    if not post.editable:
        raise ApiProblem(409, f"the {post.label} is already {post.status}; it cannot change")
    text = body.text.replace("\r\n", "\n").replace("\r", "\n")
    edit_delivery(app, post_id, text)  # this one post, an article's or a written one
    record_write(app, caller, "post.edit", f"post {post_id}", post.label)
    return post_out(queued_post(app, post_id))


@router.post("/{post_id}/hold", response_model=PostOut, responses=_WRITE)
def hold(post_id: Id, caller: Writer, app: AppDep) -> PostOut:
    """Keep a pending post queued but unsent until it is released."""
    return _state("hold", app, caller, post_id)


@router.post("/{post_id}/release", response_model=PostOut, responses=_WRITE)
def release(post_id: Id, caller: Writer, app: AppDep) -> PostOut:
    """Back into the queue at its account's next free slot."""
    return _state("release", app, caller, post_id)


@router.post("/{post_id}/post-now", response_model=PostedNow, responses=_WRITE)
def now(post_id: Id, caller: Writer, app: AppDep) -> PostedNow:
    """Send it now, unless a worker holds it (``busy``)."""
    try:
        result = post_now(app, post_id)
    except InvalidInput as exc:
        raise ApiProblem(409, str(exc)) from None
    record_write(app, caller, "post.now", f"post {post_id}", result.outcome.value)
    return PostedNow(post=post_out(queued_post(app, post_id)), outcome=result.outcome, detail=result.message)
