"""The desk's digest page: the upcoming edition of each newsletter, previewed, edited, tested and sent.

The preview iframes hold exactly :func:`distro.services.digest_preview.render_preview`'s bytes (the same
bytes ``distro digest preview`` writes); ``/desk/digest/preview.html`` and ``.txt`` serve them raw. Every
action goes through the services the CLI and the scheduler use (``save_edit``, ``send_test``,
``send_edition``, :mod:`distro.services.digest_schedule`). Each form names the edition it was shown
for, so a second click after an edition was queued never acts on the next one. The archive switch
(:func:`distro.services.archive.set_archived`) names its edition too, the upcoming one or one already sent.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import fastapi
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from distro.app import App
from distro.errors import DistroError, NotFound
from distro.models import utcnow
from distro.services import archive, digest_schedule
from distro.services.digest_check import check_edition
from distro.services.digest_desk import UpcomingEdition, changes_from_form, upcoming_edition
from distro.services.digest_edit import save_edit, send_test
from distro.services.digest_preview import PreviewPage, render_preview
from distro.services.digest_send import send_edition
from distro.services.subscribers import normalise_email
from distro.settings import DigestSettings
from distro.web.desk_auth import Desk, DeskDep, DeskForm, DeskPost, render_desk
from distro.web.desk_flash import back, read_flash

router = fastapi.APIRouter(prefix="/desk")
WIDTHS = (("Desktop", 600), ("Phone", 375))
RAW_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex",
}
Newsletter = Annotated[str | None, fastapi.Query(description="The newsletter's slug prefix.")]
Subscriber = Annotated[str | None, fastapi.Query(description="Preview as this subscriber gets it.")]


def _upcoming(app: App, newsletter: str | None) -> UpcomingEdition:
    """The upcoming edition of the newsletter the query or form names ("" or None: the main digest);
    ConfigError (a DistroError) when it names none."""
    return upcoming_edition(app, app.settings.newsletter(newsletter or None))


def _local(newsletter: DigestSettings) -> Callable[[datetime | None], str]:
    zone = ZoneInfo(newsletter.timezone)

    def local(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(zone).strftime("%a %d %b %Y, %H:%M %Z")

    return local


def _input_value(newsletter: DigestSettings, value: datetime | None) -> str:
    """A time as a datetime-local input wants it, in the newsletter's timezone."""
    zone = ZoneInfo(newsletter.timezone)
    return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _preview(
    app: App, view: UpcomingEdition, subscriber: str | None
) -> tuple[PreviewPage | None, str | None]:
    if view.digest is None:
        return None, None
    try:
        return render_preview(app, view.newsletter, view.digest, email=subscriber or None), None
    except NotFound as exc:
        page = render_preview(app, view.newsletter, view.digest)
        return page, f"{exc}; showing the example reader's copy."


def _page(
    desk: Desk,
    newsletter: str | None,
    *,
    subscriber: str | None = None,
    notice: str | None = None,
    error: str | None = None,
    draft_intro: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    app = desk.app
    try:
        view = _upcoming(app, newsletter)
    except DistroError as exc:
        return render_desk(desk, app, "digest", "Digest", status=404 if status == 200 else status,
                           error=f"{error + ' ' if error else ''}{exc}", notice=notice, view=None,
                           newsletters=app.settings.all_newsletters, prefix=newsletter or "")  # fmt: skip
    page, lookup_error = _preview(app, view, subscriber)
    preflight = check_edition(app, view.newsletter, view.digest) if view.digest and not view.queued else None
    source = Markup(html.escape(page.html.decode("utf-8"), quote=True)) if page is not None else None
    return render_desk(
        desk,
        app,
        "digest",
        "Digest",
        status=status,
        notice=notice,
        error=" ".join(e for e in (error, lookup_error) if e) or None,
        view=view,
        newsletters=app.settings.all_newsletters,
        prefix=view.newsletter.slug_prefix,
        newsletter=view.newsletter,
        subscriber=subscriber or "",
        source=source,
        widths=WIDTHS,
        intro=view.edition.intro if draft_intro is None else draft_intro,
        local=_local(view.newsletter),
        send_at_value=_input_value(view.newsletter, view.goes_out_at),
        min_value=_input_value(view.newsletter, utcnow()),
        raw_query=urlencode({k: v for k, v in (("newsletter", newsletter), ("subscriber", subscriber)) if v}),
        test_to=desk.session.email,
        sent=archive.sent_editions(app, view.newsletter),
        archive_url=partial(archive.edition_url, app.settings),
        preflight=preflight,
    )


@router.get("/digest", response_model=None)
def digest_page(
    desk: DeskDep, request: fastapi.Request, newsletter: Newsletter = None, subscriber: Subscriber = None
) -> Response:
    """The page; a message shown above it comes from the last form's flash, never from the query."""
    flash = read_flash(request, desk)
    return flash.clear(_page(desk, newsletter, subscriber=subscriber, notice=flash.notice, error=flash.error))


def _raw(desk: Desk, newsletter: str | None, subscriber: str | None) -> PreviewPage:
    try:
        view = _upcoming(desk.app, newsletter)
    except DistroError as exc:
        raise fastapi.HTTPException(404, str(exc)) from None
    if view.digest is None:
        raise fastapi.HTTPException(404, f"nothing to preview: {view.reason}")
    try:
        return render_preview(desk.app, view.newsletter, view.digest, email=subscriber or None)
    except NotFound as exc:
        raise fastapi.HTTPException(404, str(exc)) from None


@router.get("/digest/preview.html")
def preview_html(desk: DeskDep, newsletter: Newsletter = None, subscriber: Subscriber = None) -> Response:
    """The message's HTML part, byte for byte; sandboxed, so its links and markup cannot act as the desk."""
    page = _raw(desk, newsletter, subscriber)
    headers = {**RAW_HEADERS, "Content-Security-Policy": "sandbox"}
    return Response(page.html, media_type="text/html; charset=utf-8", headers=headers)


@router.get("/digest/preview.txt")
def preview_text(desk: DeskDep, newsletter: Newsletter = None, subscriber: Subscriber = None) -> Response:
    page = _raw(desk, newsletter, subscriber)
    return Response(page.text, media_type="text/plain; charset=utf-8", headers=RAW_HEADERS)


def _back(desk: Desk, newsletter: str, *, notice: str | None = None, error: str | None = None) -> Response:
    location = f"/desk/digest?{urlencode({'newsletter': newsletter})}"
    return back(desk, location, notice=notice, error=error)


def _target(form: DeskForm) -> UpcomingEdition:
    """The upcoming edition the form was shown for; DistroError when it has moved on since."""
    view = _upcoming(form.desk.app, form.get("newsletter"))
    shown = form.get("edition")
    if shown != view.slug:
        raise DistroError(f"{shown or 'that edition'} is no longer the upcoming edition (now {view.slug}); "
                          "check the page again")  # fmt: skip
    return view


@router.post("/digest/edit", response_model=None)
def digest_edit(form: DeskPost) -> Response:
    """Save the edit and recompose; a refusal keeps the editor's intro on the page."""
    draft = form.fields.get("intro", [""])[0]
    newsletter = form.get("newsletter")
    try:
        view = _target(form)
        if view.queued:
            raise DistroError(f"{view.slug} is already {view.status}; a queued edition cannot be edited")
        changes = changes_from_form(
            view,
            intro=draft,
            lead=form.get("lead"),
            excluded=form.getlist("exclude"),
            max_stories=form.get("max_stories"),
        )
        result = save_edit(form.desk.app, view.newsletter, changes, at=view.at, actor=form.desk.actor)
    except DistroError as exc:
        return _page(form.desk, newsletter, error=f"Not saved: {exc}.", draft_intro=draft, status=422)
    what = f"{len(result.digest.article_ids)} stories" if result.digest else result.reason
    notice = f"Saved the edit of {view.slug} ({what})."
    return _back(form.desk, view.newsletter.slug_prefix, notice=notice)


@router.post("/digest/test", response_model=None)
def digest_test(form: DeskPost) -> Response:
    newsletter = form.get("newsletter")
    try:
        view = _target(form)
        if view.digest is None:
            raise DistroError(f"nothing to send: {view.reason}")
        to = normalise_email(form.get("to") or form.desk.session.email)
        row = send_test(form.desk.app, view.digest, to, actor=form.desk.actor)
    except DistroError as exc:
        return _back(form.desk, newsletter, error=f"No test copy sent: {exc}.")
    if row.status != "sent":
        reason = f": {row.last_error}" if row.last_error else ""
        return _back(form.desk, newsletter, error=f"The test copy to {to} failed ({row.status}){reason}.")
    return _back(
        form.desk, newsletter, notice=f"Sent a test copy of {view.slug} to {to} (subject “[TEST] …”)."
    )


@router.post("/digest/send", response_model=None)
def digest_send(form: DeskPost) -> Response:
    """Queue the edition for every reader now; the dispatch job or the workers send it."""
    newsletter = form.get("newsletter")
    try:
        view = _target(form)
        if view.digest is None:
            raise DistroError(f"nothing to send: {view.reason}")
        sent = send_edition(form.desk.app, view.newsletter, at=view.at, actor=form.desk.actor)
    except DistroError as exc:
        return _back(form.desk, newsletter, error=f"Not sent: {exc}.")
    notice = f"{view.slug} is queued for {sent.recipients} readers; it goes out now. Below: the next edition."
    return _back(form.desk, newsletter, notice=notice)


def _parse_local(newsletter: DigestSettings, raw: str) -> datetime:
    """A datetime-local value in the newsletter's timezone, as an aware time; refuses one the clocks skip."""
    try:
        naive = datetime.fromisoformat(raw)
    except ValueError:
        raise DistroError(f"{raw!r} is not a date and time") from None
    if naive.tzinfo is not None:
        raise DistroError("give the time without a timezone: it is read in the newsletter's timezone")
    zone = ZoneInfo(newsletter.timezone)
    local = naive.replace(tzinfo=zone)
    if local.astimezone(zone).replace(tzinfo=None) != naive:
        raise DistroError(f"{naive:%Y-%m-%d %H:%M} does not exist in {zone.key} (the clocks change then)")
    return local


@router.post("/digest/schedule", response_model=None)
def digest_schedule_post(form: DeskPost) -> Response:
    newsletter = form.get("newsletter")
    try:
        view = _target(form)
        send_at = _parse_local(view.newsletter, form.get("send_at"))
        digest_schedule.schedule(form.desk.app, view.slug, send_at, actor=form.desk.actor)
    except DistroError as exc:
        return _back(form.desk, newsletter, error=f"Not scheduled: {exc}.")
    when = _local(view.newsletter)(send_at)
    return _back(
        form.desk, newsletter, notice=f"{view.slug} goes out at {when} instead of at the usual time."
    )


@router.post("/digest/unschedule", response_model=None)
def digest_unschedule(form: DeskPost) -> Response:
    newsletter = form.get("newsletter")
    try:
        view = _target(form)
        changed = digest_schedule.unschedule(form.desk.app, view.slug, actor=form.desk.actor)
    except DistroError as exc:
        return _back(form.desk, newsletter, error=f"Not unscheduled: {exc}.")
    if not changed:
        return _back(form.desk, newsletter, notice=f"{view.slug} was not scheduled by hand.")
    return _back(form.desk, newsletter, notice=f"{view.slug} goes out at the newsletter's usual time again.")


@router.post("/digest/archive", response_model=None)
def digest_archive(form: DeskPost) -> Response:
    """Keep one edition (``slug``) out of the public archive, or show it there once sent."""
    newsletter, slug, show = form.get("newsletter"), form.get("slug"), form.get("archived") == "on"
    try:
        archive.set_archived(form.desk.app, slug, show, actor=form.desk.actor)
    except DistroError as exc:
        return _back(form.desk, newsletter, error=f"Not changed: {exc}.")
    done = "is shown in the archive once sent" if show else "is kept out of the archive"
    return _back(form.desk, newsletter, notice=f"{slug} {done}.")
