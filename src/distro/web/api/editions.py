"""``/api/v1/editions``: stored editions with their figures, the exact bytes a reader gets, and the same
schedule and send use cases as the desk, the command line and the scheduler.

An edition is named by its slug (``weekly-2026-W49``). Only the newsletter's upcoming edition (the one the
desk shows, composed now if it never was) can be sent: ``GET /editions/upcoming`` names it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import fastapi
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field

from distro.app import App
from distro.errors import ConfigError
from distro.models import Digest, DigestStatus, utcnow
from distro.services import api_pages, digest_schedule
from distro.services.api_tokens import record_write
from distro.services.digest_calendar import digest_slug, upcoming_at
from distro.services.digest_preview import render_preview
from distro.services.digest_send import send_edition
from distro.services.report import edition_report
from distro.settings import DigestSettings
from distro.web.api.auth import Reader, Writer
from distro.web.api.bodies import Body, Utc
from distro.web.api.pages import Cursor, Limit, Page, after, page
from distro.web.api.problems import ApiProblem, responses
from distro.web.deps import AppDep

router = fastapi.APIRouter(prefix="/editions", tags=["editions"])
Slug = Annotated[str, fastapi.Path(max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
NewsletterQuery = Annotated[
    str | None, fastapi.Query(max_length=40, description="slug prefix (default: the main digest)")
]


class EditionOut(BaseModel):
    id: int
    slug: str
    newsletter: str
    status: DigestStatus
    subject: str
    window_start: datetime
    window_end: datetime
    article_ids: list[int]
    recipients: int
    created_at: datetime
    queued_at: datetime | None


class Counts(BaseModel):
    """What became of the edition's deliveries, and what came back."""

    sent: int
    failed: int
    pending: int
    suppressed: int
    hard_bounces: int
    soft_bounces: int
    complaints: int
    unsubscribes: int
    clicks: int
    unique_clickers: int


class EditionDetail(EditionOut):
    counts: Counts


class Upcoming(BaseModel):
    newsletter: str
    slug: str  # what POST /editions/{slug}/send sends
    composed: bool  # False: sending composes it first


class ScheduleIn(Body):
    send_at: Annotated[AwareDatetime, Utc]  # with its offset, e.g. 2026-11-30T07:00:00+00:00


class Scheduled(BaseModel):
    slug: str
    send_at: datetime | None  # None: back to the newsletter's cron time


class Sent(BaseModel):
    slug: str
    queued: int  # new deliveries (sending again queues only readers added since)
    recipients: int
    warnings: list[str] = Field(default_factory=list)


class Part(StrEnum):
    html = "html"
    text = "text"


def edition_out(digest: Digest) -> EditionOut:
    return EditionOut.model_validate(digest, from_attributes=True)


def _newsletter(app: App, prefix: str | None) -> DigestSettings:
    try:
        return app.settings.newsletter(prefix)
    except ConfigError as exc:
        raise ApiProblem(404, str(exc)) from None


@router.get("", response_model=Page[EditionOut], responses=responses(401, 422, 429))
def list_editions(
    _caller: Reader,
    app: AppDep,
    cursor: Cursor = None,
    limit: Limit = 50,
    newsletter: NewsletterQuery = None,
    status: DigestStatus | None = None,
) -> Page[EditionOut]:
    """Stored editions (composed or queued) in the order they were first composed."""
    rows = api_pages.editions(app, after=after(cursor), limit=limit + 1, newsletter=newsletter, status=status)
    return page(rows, limit, lambda d: d.id or 0, edition_out)


@router.get("/upcoming", response_model=Upcoming, responses=responses(401, 404, 422, 429))
def upcoming(_caller: Reader, app: AppDep, newsletter: NewsletterQuery = None) -> Upcoming:
    """The edition the newsletter sends next (the desk's), composed or not yet."""
    chosen = _newsletter(app, newsletter)
    slug = digest_slug(chosen, upcoming_at(app, chosen))
    try:
        composed = api_pages.edition(app, slug).status == DigestStatus.COMPOSED
    except LookupError:
        composed = False
    return Upcoming(newsletter=chosen.slug_prefix, slug=slug, composed=composed)


@router.get("/{slug}", response_model=EditionDetail, responses=responses(401, 404, 422, 429))
def get_edition(slug: Slug, _caller: Reader, app: AppDep) -> EditionDetail:
    digest = api_pages.edition(app, slug)
    report = edition_report(app, digest.slug)
    counts = Counts.model_validate(report, from_attributes=True)
    return EditionDetail(**edition_out(digest).model_dump(), counts=counts)


_STRING = {"schema": {"type": "string"}}
_PREVIEW: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the edition's HTML or text part",
        "content": {"text/html": _STRING, "text/plain": _STRING},
    }
}


@router.get(
    "/{slug}/preview",
    response_class=Response,
    responses=_PREVIEW | responses(401, 404, 422, 429),
)
def preview(
    slug: Slug,
    _caller: Reader,
    app: AppDep,
    part: Part = Part.html,
    subscriber: Annotated[str | None, fastapi.Query(max_length=320)] = None,
) -> Response:
    """The exact bytes a reader gets (``subscriber``: that reader's copy; default an example reader)."""
    digest = api_pages.edition(app, slug)
    shown = render_preview(app, _newsletter(app, digest.newsletter), digest, email=subscriber or None)
    if part == Part.text:
        return Response(shown.text, media_type="text/plain; charset=utf-8")
    return Response(shown.html, media_type="text/html; charset=utf-8")


@router.post("/{slug}/schedule", response_model=Scheduled, responses=responses(401, 403, 404, 409, 422, 429))
def schedule(slug: Slug, body: ScheduleIn, caller: Writer, app: AppDep) -> Scheduled:
    """Send the composed edition at ``send_at`` instead of the cron time."""
    api_pages.edition(app, slug)
    if body.send_at <= utcnow():
        raise ApiProblem(422, f"send_at {body.send_at.isoformat()} is in the past; choose a later time")
    edit = digest_schedule.schedule(app, slug, body.send_at)
    record_write(app, caller, "edition.schedule", f"edition {slug}", f"at {body.send_at.isoformat()}")
    return Scheduled(slug=slug, send_at=edit.send_at)


@router.delete(
    "/{slug}/schedule", response_model=Scheduled, responses=responses(401, 403, 404, 409, 422, 429)
)
def unschedule(slug: Slug, caller: Writer, app: AppDep) -> Scheduled:
    """Back to the newsletter's cron time (nothing changes when it was not scheduled by hand)."""
    api_pages.edition(app, slug)
    if digest_schedule.unschedule(app, slug):
        record_write(app, caller, "edition.schedule", f"edition {slug}", "back to the cron time")
    return Scheduled(slug=slug, send_at=None)


@router.post("/{slug}/send", response_model=Sent, responses=responses(401, 403, 404, 409, 422, 429))
def send(slug: Slug, caller: Writer, app: AppDep) -> Sent:
    """Queue the upcoming edition for every recipient now (as the desk's Send button does)."""
    newsletter = _newsletter(app, digest_schedule.newsletter_of(slug))
    at = upcoming_at(app, newsletter)
    due = digest_slug(newsletter, at)
    if due != slug:
        raise ApiProblem(409, f"{slug} is not the edition to send now; {due} is (GET /editions/upcoming)")
    sent = send_edition(app, newsletter, at=at)
    if sent.digest is None:
        raise ApiProblem(409, f"nothing sent: {sent.reason}")
    record_write(app, caller, "edition.send", f"edition {slug}", f"{sent.queued} deliveries queued")
    return Sent(slug=slug, queued=sent.queued, recipients=sent.recipients, warnings=list(sent.warnings))
