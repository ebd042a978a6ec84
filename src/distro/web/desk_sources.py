"""The desk's sources: every source with its poll state; add one after a dry run; pause, poll now, remove.

Reading is for every role; changes are for admins (:data:`DeskAdminPost`). The page is a thin face over
:mod:`distro.services.desk_sources` (what ``distro sources list`` and ``distro ingest`` use underneath),
so a source added here is polled by the scheduler like one in the TOML file. The dry run is a POST (it
fetches a URL the admin typed, with the fetcher's limits and refusal of private addresses) and answers
with the page itself, showing what would be stored and a form to save it; nothing is written until then.
"""

from __future__ import annotations

import fastapi
from fastapi.responses import HTMLResponse, Response

from distro.errors import DistroError
from distro.services.desk_sources import (
    BACKLOG,
    KINDS,
    NEW,
    STORED,
    DryRun,
    NewSource,
    add_source,
    dry_run,
    parse_new_source,
    poll_now,
    remove_source,
    set_paused,
)
from distro.services.ingest import list_sources
from distro.web.desk_auth import Desk, DeskAdminPost, DeskDep, DeskForm, render_desk
from distro.web.desk_flash import back, read_flash

router = fastapi.APIRouter(prefix="/desk")


def _page(
    desk: Desk,
    *,
    notice: str | None = None,
    error: str | None = None,
    preview: DryRun | None = None,
    draft: NewSource | None = None,
    status: int = 200,
) -> HTMLResponse:
    app = desk.app
    return render_desk(
        desk,
        app,
        "sources",
        "Sources",
        status=status,
        notice=notice,
        error=error,
        sources=list_sources(app),
        preview=preview,
        draft=draft or (preview.source if preview else None),
        kinds=KINDS,
        fates=(NEW, BACKLOG, STORED),
        private_allowed=app.settings.web.desk_private_sources,
        is_admin=desk.is_admin,
    )


@router.get("/sources", response_model=None)
def sources_page(desk: DeskDep, request: fastapi.Request) -> Response:
    flash = read_flash(request, desk)
    return flash.clear(_page(desk, notice=flash.notice, error=flash.error))


def _new_source(form: DeskForm) -> NewSource:
    return parse_new_source(
        name=form.get("name"),
        url=form.get("url"),
        kind=form.get("kind", "feed"),
        backfill=form.get("backfill", "0"),
        private=form.get("allow_private_addresses") == "on",
    )


def _typed(form: DeskForm) -> NewSource:
    """What the editor typed, unchecked, to put back in the form after a refusal."""
    backfill = form.get("backfill", "0")
    return NewSource(
        form.get("name"),
        form.get("url"),
        form.get("kind", "feed"),
        int(backfill) if backfill.isdigit() and len(backfill) < 6 else 0,
        form.get("allow_private_addresses") == "on",
    )


@router.post("/sources/dry-run", response_model=None)
def sources_dry_run(form: DeskAdminPost) -> Response:
    """Fetch the source as its first poll would and show what would be stored; store nothing."""
    try:
        preview = dry_run(form.desk.app, _new_source(form))
    except DistroError as exc:
        return _page(form.desk, error=f"Not checked: {exc}.", draft=_typed(form), status=422)
    if preview.error:
        return _page(
            form.desk, error=f"Nothing would be stored: {preview.error}", preview=preview, status=422
        )
    return _page(form.desk, preview=preview)


@router.post("/sources/add", response_model=None)
def sources_add(form: DeskAdminPost) -> Response:
    try:
        new = _new_source(form)
        report = add_source(form.desk.app, new, actor=form.desk.actor)
    except DistroError as exc:
        return _page(form.desk, error=f"Not added: {exc}.", draft=_typed(form), status=422)
    if report.error:
        return back(
            form.desk, "/desk/sources", error=f"Added {new.name}, but its first poll failed: {report.error}"
        )
    return back(
        form.desk,
        "/desk/sources",
        notice=f"Added {new.name}: {report.new} articles stored, {report.backlog} of them back catalogue.",
    )


def _act(form: DeskForm, verb: str) -> Response:
    name, desk = form.get("name"), form.desk
    try:
        if verb == "poll":
            report = poll_now(desk.app, name, actor=desk.actor)
            if report.error:
                return back(desk, "/desk/sources", error=f"Polled {name}: {report.error}")
            done = f"Polled {name}: {report.new} new, {report.updated} updated."
        elif verb == "remove":
            remove_source(desk.app, name, actor=desk.actor)
            done = f"Removed {name}; its articles are kept."
        else:
            set_paused(desk.app, name, verb == "pause", actor=desk.actor)
            done = (
                f"Paused {name}: it is not polled until resumed." if verb == "pause" else f"Resumed {name}."
            )
    except DistroError as exc:
        return back(desk, "/desk/sources", error=f"Not done: {exc}.")
    return back(desk, "/desk/sources", notice=done)


@router.post("/sources/poll", response_model=None)
def sources_poll(form: DeskAdminPost) -> Response:
    return _act(form, "poll")


@router.post("/sources/pause", response_model=None)
def sources_pause(form: DeskAdminPost) -> Response:
    return _act(form, "pause")


@router.post("/sources/resume", response_model=None)
def sources_resume(form: DeskAdminPost) -> Response:
    return _act(form, "resume")


@router.post("/sources/remove", response_model=None)
def sources_remove(form: DeskAdminPost) -> Response:
    return _act(form, "remove")
