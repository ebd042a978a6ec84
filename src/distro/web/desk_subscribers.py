"""The desk's subscribers: search and filters, a reader's page with their history, the editor's actions,
CSV import by upload and export.

Every action goes through :mod:`distro.services.subscriber_desk` (which reuses the CLI's import, export,
suppression and forget), so the desk and ``distro subscribers ...`` report the same things, and each change
lands in the activity record. Editors and admins act; a viewer reads every page, and every form (the
upload too) answers a viewer 403. Forgetting a reader asks for their address typed again.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import TextIO, cast
from urllib.parse import urlencode

import fastapi
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from distro.errors import DistroError, NotFound
from distro.services import subscriber_desk
from distro.services.subscriber_desk import STATUSES, SearchPage
from distro.services.subscribers import ImportReport
from distro.web.desk_auth import (
    HEADERS,
    VIEWER_REFUSED,
    Desk,
    DeskDep,
    DeskForm,
    DeskPost,
    DeskUploadPost,
    render_desk,
)
from distro.web.desk_flash import back, read_flash

router = fastapi.APIRouter(prefix="/desk")


def _query(page: SearchPage, before: int | None = None) -> str:
    w = page.wanted
    params = {
        k: v
        for k, v in (("q", w.q), ("status", w.status), ("newsletter", w.newsletter), ("section", w.section))
        if v
    }
    if before is not None:
        params["before"] = str(before)
    return "/desk/subscribers" + (f"?{urlencode(params)}" if params else "")


def _list(
    desk: Desk,
    *,
    q: str = "",
    status: str = "",
    newsletter: str = "",
    section: str = "",
    before: int | None = None,
    report: ImportReport | None = None,
    notice: str | None = None,
    error: str | None = None,
    code: int = 200,
) -> HTMLResponse:
    app = desk.app
    try:
        page = subscriber_desk.search(
            app, q=q, status=status, newsletter=newsletter, section=section, before=before
        )
    except DistroError as exc:  # a filter the settings do not know: the whole list, and why
        page, error, code = subscriber_desk.search(app, q=q), f"{exc}.", 400
    return render_desk(
        desk,
        app,
        "subscribers",
        "Subscribers",
        status=code,
        notice=notice,
        error=error,
        page=page,
        statuses=STATUSES,
        newsletters=[n.slug_prefix for n in app.settings.all_newsletters],
        sections=app.settings.digest.sections,
        older=_query(page, page.older) if page.older else None,
        first=_query(page) if before else None,
        report=report,
    )


@router.get("/subscribers", response_model=None)
def subscribers_page(
    desk: DeskDep,
    request: fastapi.Request,
    q: str = "",
    status: str = "",
    newsletter: str = "",
    section: str = "",
    before: int | None = None,
) -> Response:
    flash = read_flash(request, desk)
    page = _list(
        desk, q=q, status=status, newsletter=newsletter, section=section, before=before,
        notice=flash.notice, error=flash.error,
    )  # fmt: skip
    return flash.clear(page)


@router.get("/subscribers/export.csv", response_model=None)
def subscribers_export(desk: DeskDep) -> Response:
    """Every subscriber as the CLI's CSV (editors and admins: it is the whole list of addresses), spooled
    to disk past a few megabytes so a long list never sits in memory whole."""
    if not desk.can_edit:
        raise fastapi.HTTPException(403, VIEWER_REFUSED)
    # Closed by the response once sent (or here, on an error): a with block would close it too soon.
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+", encoding="utf-8", newline="")  # noqa: SIM115
    try:
        subscriber_desk.export(desk.app, cast(TextIO, spool), actor=desk.actor)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)

    def chunks() -> Iterator[str]:
        with spool:
            while chunk := spool.read(64 * 1024):
                yield chunk

    headers = {**HEADERS, "Content-Disposition": 'attachment; filename="subscribers.csv"'}
    return StreamingResponse(chunks(), media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/subscribers/import", response_model=None)
def subscribers_import(upload: DeskUploadPost) -> Response:
    """Import the uploaded CSV; the page shows the same report as ``distro subscribers import``."""
    desk = upload.desk
    filename, data = upload.files.get("file", ("", b""))
    if not filename:
        return _list(desk, error="Not imported: choose a CSV file first.", code=422)
    try:
        report = subscriber_desk.import_upload(desk.app, data, filename, actor=desk.actor)
    except DistroError as exc:
        return _list(desk, error=f"Not imported: {exc}.", code=422)
    notice = f"Imported {filename}: {report.added} added, {report.existing} already known"
    notice += f", {len(report.rejected)} lines rejected (below)." if report.rejected else "."
    return _list(desk, report=report, notice=notice)


def _id(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 12:
        raise fastapi.HTTPException(404, "no such subscriber")
    return int(raw)


@router.get("/subscribers/{subscriber_id}", response_model=None)
def subscriber_page(subscriber_id: str, desk: DeskDep, request: fastapi.Request) -> Response:
    flash = read_flash(request, desk)
    app = desk.app
    try:
        found = subscriber_desk.reader(app, _id(subscriber_id))
    except NotFound as exc:
        return flash.clear(_list(desk, error=f"{exc}.", code=404))
    page = render_desk(
        desk,
        app,
        "subscriber",
        found.subscriber.email,
        notice=flash.notice,
        error=flash.error,
        reader=found,
        sections=app.settings.digest.sections,
        newsletters=app.settings.all_newsletters,
        max_pause=app.settings.web.max_pause_weeks,
    )
    return flash.clear(page)


def _back(
    form: DeskForm, subscriber_id: int, *, notice: str | None = None, error: str | None = None
) -> Response:
    return back(form.desk, f"/desk/subscribers/{subscriber_id}", notice=notice, error=error)


@router.post("/subscribers/{subscriber_id}/pause", response_model=None)
def subscriber_pause(subscriber_id: str, form: DeskPost) -> Response:
    sid = _id(subscriber_id)
    try:
        weeks = int(form.get("weeks") or "x")
    except ValueError:
        return _back(form, sid, error="Not paused: give a number of weeks (0 ends a pause).")
    try:
        subscriber_desk.pause(form.desk.app, sid, weeks, actor=form.desk.actor)
    except DistroError as exc:
        return _back(form, sid, error=f"Not paused: {exc}.")
    return _back(form, sid, notice=f"Paused for {weeks} weeks." if weeks else "The pause has ended.")


@router.post("/subscribers/{subscriber_id}/choices", response_model=None)
def subscriber_choices(subscriber_id: str, form: DeskPost) -> Response:
    sid = _id(subscriber_id)
    try:
        subscriber_desk.choose(
            form.desk.app, sid, sections=form.getlist("section"), newsletters=form.getlist("newsletter"),
            actor=form.desk.actor,
        )  # fmt: skip
    except DistroError as exc:
        return _back(form, sid, error=f"Not saved: {exc}.")
    return _back(form, sid, notice="Saved their sections and newsletters.")


@router.post("/subscribers/{subscriber_id}/unsubscribe", response_model=None)
def subscriber_unsubscribe(subscriber_id: str, form: DeskPost) -> Response:
    sid = _id(subscriber_id)
    try:
        changed = subscriber_desk.unsubscribe(form.desk.app, sid, actor=form.desk.actor)
    except DistroError as exc:
        return _back(form, sid, error=f"Not unsubscribed: {exc}.")
    return _back(
        form, sid, notice="Unsubscribed from everything." if changed else "They were already unsubscribed."
    )


@router.post("/subscribers/{subscriber_id}/suppress", response_model=None)
def subscriber_suppress(subscriber_id: str, form: DeskPost) -> Response:
    sid, on = _id(subscriber_id), form.get("on") != "0"
    try:
        changed = subscriber_desk.block(form.desk.app, sid, on=on, actor=form.desk.actor)
    except DistroError as exc:
        return _back(form, sid, error=f"Not changed: {exc}.")
    if on:
        said = (
            "Put on the suppression list: nothing is sent to this address."
            if changed
            else "Already on the list."
        )
    else:
        said = "Taken off the suppression list." if changed else "The address was not on the list."
    return _back(form, sid, notice=said)


@router.post("/subscribers/{subscriber_id}/forget", response_model=None)
def subscriber_forget(subscriber_id: str, form: DeskPost) -> Response:
    sid = _id(subscriber_id)
    try:
        subscriber_desk.forget(form.desk.app, sid, form.get("confirm"), actor=form.desk.actor)
    except DistroError as exc:
        return _back(form, sid, error=f"Not forgotten: {exc}.")
    return back(
        form.desk,
        "/desk/subscribers",
        notice="Forgotten: their data is deleted and the delivery log anonymised.",
    )
