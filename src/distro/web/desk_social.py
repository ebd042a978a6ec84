"""The desk's social queue: every post not yet out, per account, to edit, hold, release or post now.

Every action goes through the service the CLI uses (:func:`distro.services.social.edit_post`,
:mod:`distro.services.plan` hold/release, :func:`distro.services.post_now.post_now`), so the desk and
``distro social ...`` never disagree. Refusals come back as a message on the page, never as an error
page; a refused edit keeps the editor's draft in its textarea.
"""

from __future__ import annotations

import fastapi
from fastapi.responses import HTMLResponse, Response

from distro.errors import DistroError, InvalidInput, NotFound
from distro.models import utcnow
from distro.services import plan
from distro.services.post_now import PostNowOutcome, post_now
from distro.services.social import edit_post
from distro.services.social_queue import FAILED_DAYS, PLATFORM_NAMES, queued_post, social_queue
from distro.web.desk_auth import Desk, DeskDep, DeskPost, render_desk
from distro.web.desk_flash import back, read_flash

router = fastapi.APIRouter(prefix="/desk")


def _page(
    desk: Desk,
    *,
    notice: str | None = None,
    error: str | None = None,
    drafts: dict[int, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render_desk(
        desk,
        desk.app,
        "social",
        "Social queue",
        status=status,
        notice=notice,
        error=error,
        queues=social_queue(desk.app),
        drafts=drafts or {},
        failed_days=FAILED_DAYS,
        platform_names=PLATFORM_NAMES,
        now=utcnow(),
    )


def _back(
    desk: Desk, delivery_id: int | None, *, notice: str | None = None, error: str | None = None
) -> Response:
    anchor = f"#post-{delivery_id}" if delivery_id is not None else ""
    return back(desk, f"/desk/social{anchor}", notice=notice, error=error)


def _delivery_id(raw: str) -> int:
    if not raw.isdigit():
        raise NotFound(f"no delivery {raw!r}; the queue may have changed, reload the page")
    return int(raw)


@router.get("/social", response_model=None)
def social_page(desk: DeskDep, request: fastapi.Request) -> Response:
    """The queue; a message shown above it comes from the last form's flash, never from the query."""
    flash = read_flash(request, desk)
    return flash.clear(_page(desk, notice=flash.notice, error=flash.error))


@router.post("/social/{delivery_id}/edit", response_model=None)
def social_edit(delivery_id: str, form: DeskPost) -> Response:
    """Save the text through ``edit_post`` (its length rule, its body); a refusal keeps the draft."""
    app = form.desk.app
    # Browsers send a textarea's line breaks as CRLF; a post's line breaks are LF.
    text = form.get("text").replace("\r\n", "\n").replace("\r", "\n")
    try:
        post = queued_post(app, _delivery_id(delivery_id))
        if not post.editable:
            raise InvalidInput(f"the {post.label} is already {post.status}; it cannot change")
        edit_post(app, post.article_id, post.platform, text, post.account)
    except DistroError as exc:
        drafts = {int(delivery_id): text} if delivery_id.isdigit() else {}
        return _page(form.desk, error=f"Not saved: {exc}.", drafts=drafts, status=422)
    return _back(form.desk, post.delivery_id, notice=f"Saved the new text of the {post.label}.")


@router.post("/social/{delivery_id}/hold", response_model=None)
def social_hold(delivery_id: str, form: DeskPost) -> Response:
    app = form.desk.app
    try:
        post = queued_post(app, _delivery_id(delivery_id))
        changed = plan.hold(app.engine, [post.delivery_id])
    except DistroError as exc:
        return _back(form.desk, None, error=f"Not held: {exc}.")
    if not changed:
        return _back(form.desk, post.delivery_id, notice=f"The {post.label} was already held.")
    return _back(
        form.desk, post.delivery_id, notice=f"Held the {post.label}: no worker sends it until you release it."
    )


@router.post("/social/{delivery_id}/release", response_model=None)
def social_release(delivery_id: str, form: DeskPost) -> Response:
    app = form.desk.app
    try:
        post = queued_post(app, _delivery_id(delivery_id))
        changed = plan.release(app.engine, app.settings, [post.delivery_id])
        after = queued_post(app, post.delivery_id)
    except DistroError as exc:
        return _back(form.desk, None, error=f"Not released: {exc}.")
    if not changed:
        return _back(form.desk, post.delivery_id, notice=f"The {post.label} was not held.")
    due = after.next_attempt_at.strftime("%Y-%m-%d %H:%M UTC")
    return _back(
        form.desk,
        post.delivery_id,
        notice=f"Released the {post.label}: it goes out at {due} (its account's next slot).",
    )


@router.post("/social/{delivery_id}/post-now", response_model=None)
def social_post_now(delivery_id: str, form: DeskPost) -> Response:
    try:
        result = post_now(form.desk.app, _delivery_id(delivery_id))
    except DistroError as exc:
        return _back(form.desk, None, error=f"Not posted: {exc}.")
    if result.outcome in (PostNowOutcome.SENT, PostNowOutcome.BUSY):
        return _back(form.desk, result.delivery_id, notice=result.message)
    return _back(form.desk, result.delivery_id, error=result.message)
