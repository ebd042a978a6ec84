"""The desk's social queue: every post not yet out, per account, to edit, hold, release or post now.

Every action goes through the service the CLI uses (:func:`distro.services.social.edit_post`,
:mod:`distro.services.plan` hold/release, :func:`distro.services.post_now.post_now`), so the desk and
``distro social ...`` never disagree. Refusals come back as a message on the page, never as an error
page; a refused edit keeps the editor's draft in its textarea.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qs, urlencode

import fastapi
from fastapi.responses import HTMLResponse, Response

from distro.errors import DistroError, InvalidInput, NotFound
from distro.models import utcnow
from distro.services import plan
from distro.services.custom_posts import PostRequest, accounts, create_post
from distro.services.desk_clock import desk_zone, local_time
from distro.services.post_now import PostNowOutcome, post_now
from distro.services.social import edit_delivery
from distro.services.social_queue import (
    FAILED_DAYS,
    PLATFORM_NAMES,
    STATUSES,
    QueueFilter,
    queue_page,
    queued_post,
)
from distro.web.desk_auth import Desk, DeskDep, DeskForm, DeskPost, render_desk
from distro.web.desk_flash import back, read_flash

router = fastapi.APIRouter(prefix="/desk")
_VIEW = re.compile(r"[A-Za-z0-9=&_.:-]{0,200}")  # a queue page's query string, as the action forms carry it


def _page(
    desk: Desk,
    wanted: QueueFilter,
    *,
    after: str | None = None,
    before: str | None = None,
    notice: str | None = None,
    error: str | None = None,
    drafts: dict[int, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    app = desk.app
    try:
        page = queue_page(app, wanted, after=after, before=before)
    except DistroError as exc:  # a stale or forged cursor: the first page, and why
        page, error, status = queue_page(app, wanted), f"{exc}.", 400
    return render_desk(
        desk,
        app,
        "social",
        "Social queue",
        status=status,
        notice=notice,
        error=error,
        page=page,
        view=urlencode(wanted.query(**({"after": after} if after else {"before": before} if before else {}))),
        link=lambda **cursor: "/desk/social?" + urlencode(wanted.query(**cursor)),
        drafts=drafts or {},
        failed_days=FAILED_DAYS,
        platform_names=PLATFORM_NAMES,
        statuses=STATUSES,
        when=lambda value: local_time(app.settings, value),
        zone=desk_zone(app.settings).key,
        now=utcnow(),
    )


def _back(
    form: DeskForm, delivery_id: int | None, *, notice: str | None = None, error: str | None = None
) -> Response:
    """Back to the queue page the form was on (its filter and page), at the post."""
    view = form.get("view")
    query = f"?{view}" if view and _VIEW.fullmatch(view) else ""
    anchor = f"#post-{delivery_id}" if delivery_id is not None else ""
    return back(form.desk, f"/desk/social{query}{anchor}", notice=notice, error=error)


def _view_of(form: DeskForm) -> tuple[QueueFilter, dict[str, str]]:
    """The filter and cursor of the page a form was posted from (the first page when they are not ours)."""
    fields = {name: values[0] for name, values in parse_qs(form.get("view")).items()}
    try:
        wanted = QueueFilter.parse(fields.get("status"), fields.get("platform"))
    except DistroError:
        return QueueFilter(), {}
    return wanted, {name: fields[name] for name in ("after", "before") if fields.get(name)}


def _delivery_id(raw: str) -> int:
    if not raw.isdigit():
        raise NotFound(f"no delivery {raw!r}; the queue may have changed, reload the page")
    return int(raw)


@router.get("/social", response_model=None)
def social_page(
    desk: DeskDep,
    request: fastapi.Request,
    status: str | None = None,
    platform: str | None = None,
    after: str | None = None,
    before: str | None = None,
) -> Response:
    """One page of the queue, filtered; a message above it comes from the last form's flash, never from
    the query."""
    flash = read_flash(request, desk)
    try:
        wanted = QueueFilter.parse(status, platform)
    except DistroError as exc:
        return flash.clear(_page(desk, QueueFilter(), error=f"{exc}.", status=400))
    return flash.clear(
        _page(desk, wanted, after=after, before=before, notice=flash.notice, error=flash.error)
    )


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
        edit_delivery(app, post.delivery_id, text, actor=form.desk.actor)
    except DistroError as exc:
        drafts = {int(delivery_id): text} if delivery_id.isdigit() else {}
        wanted, cursor = _view_of(form)
        return _page(form.desk, wanted, **cursor, error=f"Not saved: {exc}.", drafts=drafts, status=422)
    return _back(form, post.delivery_id, notice=f"Saved the new text of the {post.label}.")


@router.post("/social/{delivery_id}/hold", response_model=None)
def social_hold(delivery_id: str, form: DeskPost) -> Response:
    app = form.desk.app
    try:
        post = queued_post(app, _delivery_id(delivery_id))
        changed = plan.hold(app.engine, [post.delivery_id], actor=form.desk.actor)
    except DistroError as exc:
        return _back(form, None, error=f"Not held: {exc}.")
    if not changed:
        return _back(form, post.delivery_id, notice=f"The {post.label} was already held.")
    return _back(
        form, post.delivery_id, notice=f"Held the {post.label}: no worker sends it until you release it."
    )


@router.post("/social/{delivery_id}/release", response_model=None)
def social_release(delivery_id: str, form: DeskPost) -> Response:
    app = form.desk.app
    try:
        post = queued_post(app, _delivery_id(delivery_id))
        changed = plan.release(app.engine, app.settings, [post.delivery_id], actor=form.desk.actor)
        after = queued_post(app, post.delivery_id)
    except DistroError as exc:
        return _back(form, None, error=f"Not released: {exc}.")
    if not changed:
        return _back(form, post.delivery_id, notice=f"The {post.label} was not held.")
    due = local_time(app.settings, after.next_attempt_at)
    return _back(
        form,
        post.delivery_id,
        notice=f"Released the {post.label}: it goes out at {due} (its account's next slot).",
    )


@router.post("/social/{delivery_id}/post-now", response_model=None)
def social_post_now(delivery_id: str, form: DeskPost) -> Response:
    try:
        result = post_now(form.desk.app, _delivery_id(delivery_id), actor=form.desk.actor)
    except DistroError as exc:
        return _back(form, None, error=f"Not posted: {exc}.")
    if result.outcome in (PostNowOutcome.SENT, PostNowOutcome.BUSY):
        return _back(form, result.delivery_id, notice=result.message)
    return _back(form, result.delivery_id, error=result.message)


# -- a post an editor writes (an announcement, a repost) ---------------------------------------------------


def _new_page(
    desk: Desk, *, fields: dict[str, str] | None = None, error: str | None = None, status: int = 200
) -> HTMLResponse:
    """The form; its ``key`` is a fresh nonce unless a refused submission is shown again with its own."""
    app = desk.app
    blank = dict.fromkeys(("account", "text", "link", "story", "at"), "")
    fields = {**blank, "key": secrets.token_urlsafe(18), **(fields or {})}
    return render_desk(
        desk,
        app,
        "social_new",
        "New social post",
        status=status,
        error=error,
        fields=fields,
        accounts=accounts(app),
        platform_names=PLATFORM_NAMES,
        zone=desk_zone(app.settings).key,
    )


@router.get("/social/new", response_model=None)
def social_new(desk: DeskDep) -> Response:
    return _new_page(desk)


@router.post("/social/new", response_model=None)
def social_new_post(form: DeskPost) -> Response:
    """Queue the post through ``create_post``; a refusal shows the form again with the editor's draft
    (and the same key, so a corrected text is still one post)."""
    names = ("account", "text", "link", "story", "at", "key")
    fields = {name: form.get(name).strip() if name != "text" else form.get(name) for name in names}
    platform, _, account = fields["account"].partition("/")
    request = PostRequest(
        platform=platform,
        account=account or None,
        text=fields["text"],
        link=fields["link"] or None,
        story=fields["story"] or None,
        at=fields["at"] or None,
        key=f"desk-{fields['key']}" if fields["key"] else None,
    )
    try:
        if not fields["key"]:
            raise InvalidInput("the form has no key; reload the page")
        queued = create_post(form.desk.app, request, actor=form.desk.actor)
    except DistroError as exc:
        return _new_page(form.desk, fields=fields, error=f"Not queued: {exc}.", status=422)
    label = f"{PLATFORM_NAMES.get(platform, platform)} post of {account}"
    when = local_time(form.desk.app.settings, queued.send_at)
    notice = (
        f"Queued the {label}: it goes out at {when}."
        if queued.created
        else f"That {label} was already queued (delivery {queued.delivery_id}); nothing was added."
    )
    return back(form.desk, f"/desk/social#post-{queued.delivery_id}", notice=notice)
