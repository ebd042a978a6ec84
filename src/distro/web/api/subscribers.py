"""``/api/v1/subscribers``: the list (filters, cursor), one with its deliveries, and the changes a reader
or the desk can make: create, sections and pause, unsubscribe, and delete (forget: the privacy use case).

A subscriber created here is active at once (the caller vouches for consent, as with a CSV import),
unless the request asks ``"confirm": true``: then the double opt-in mail goes out through the sign-up use
case, and the reader is only subscribed once they click its link (202).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import fastapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from distro.app import App
from distro.models import DeliveryStatus
from distro.services import api_pages
from distro.services.api_tokens import Caller, record_write
from distro.services.preferences import set_preferences, set_status
from distro.services.privacy import forget_subscriber
from distro.services.signup import clean_sections, request_signup
from distro.services.subscribers import Listed, add_subscriber
from distro.web.api.auth import Reader, Writer
from distro.web.api.bodies import Body
from distro.web.api.pages import Cursor, Id, Limit, Page, after, page
from distro.web.api.problems import ApiProblem, answer, responses
from distro.web.deps import AppDep

router = fastapi.APIRouter(prefix="/subscribers", tags=["subscribers"])
Sections = Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=100)]
Newsletters = Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=50)]


class SubscriberOut(BaseModel):
    id: int
    email: str
    name: str | None
    # bounced or suppressed when the address is on the suppression list, whatever the row says
    status: Literal["active", "unsubscribed", "bounced", "suppressed"]
    sections: list[str] | None  # None: every section
    newsletters: list[str] | None  # None: the newsletters subscribed by default
    created_at: datetime
    unsubscribed_at: datetime | None
    paused_until: datetime | None
    hard_bounces: int


class Delivered(BaseModel):
    id: int
    channel: str
    status: DeliveryStatus
    edition: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class SubscriberDetail(SubscriberOut):
    history: list[Delivered]  # the latest deliveries, newest first


class SubscriberIn(Body):
    email: str = Field(max_length=320)
    name: str | None = Field(default=None, max_length=200)
    sections: Sections | None = None
    newsletters: Newsletters | None = None
    confirm: bool = False  # true: send the double opt-in mail instead of subscribing at once


class ConfirmationSent(BaseModel):
    queued: bool  # a confirmation mail was queued (an address on the suppression list gets none)
    detail: str


class SubscriberChange(Body):
    """What to change; a field left out is kept."""

    sections: Sections | None = None  # null: every section
    newsletters: Newsletters | None = None
    pause_weeks: int | None = Field(default=None, ge=0, le=520)  # 0 ends a pause


class Forgotten(BaseModel):
    forgotten: dict[str, int]  # rows deleted or anonymised, by kind


def _sections(app: App, given: list[str] | None) -> list[str] | None:
    """The sections as stored (configured order; every section is None); 422 naming an unknown one."""
    known = app.settings.digest.sections
    unknown = [s for s in given or [] if s.casefold() not in {k.casefold() for k in known}]
    if unknown:
        raise ApiProblem(422, f"unknown section {unknown[0]!r}; the sections are {', '.join(known)}")
    return clean_sections(app, given)


def subscriber_out(listed: Listed) -> SubscriberOut:
    return SubscriberOut.model_validate(listed, from_attributes=True)


@router.get("", response_model=Page[SubscriberOut], responses=responses(401, 422, 429))
def list_subscribers(
    _caller: Reader,
    app: AppDep,
    cursor: Cursor = None,
    limit: Limit = 50,
    status: Literal["active", "unsubscribed"] | None = None,
    address: Annotated[str | None, fastapi.Query(max_length=320, description="part of the address")] = None,
    paused: Annotated[bool, fastapi.Query(description="only readers pausing now")] = False,
) -> Page[SubscriberOut]:
    rows = api_pages.subscribers(
        app, after=after(cursor), limit=limit + 1, status=status, address=address or None, paused=paused
    )
    return page(rows, limit, lambda s: s.id, subscriber_out)


@router.get("/{subscriber_id}", response_model=SubscriberDetail, responses=responses(401, 404, 422, 429))
def get_subscriber(subscriber_id: Id, _caller: Reader, app: AppDep) -> SubscriberDetail:
    found = subscriber_out(api_pages.subscriber(app, subscriber_id))
    history = [
        Delivered(
            id=row.id,
            channel=row.channel,
            status=row.status,
            edition=row.slug,
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
            sent_at=row.sent_at,
        )
        for row in api_pages.history(app, subscriber_id)
    ]
    return SubscriberDetail(**found.model_dump(), history=history)


def _create(app: App, caller: Caller, body: SubscriberIn) -> JSONResponse:
    if body.confirm:
        result = request_signup(app, body.email, body.name, _sections(app, body.sections), body.newsletters)
        record_write(app, caller, "subscriber.create", "sign-up", "confirmation asked")
        answer = ConfirmationSent(queued=result.queued, detail=result.reason or "confirmation mail queued")
        return JSONResponse(answer.model_dump(), status_code=202)
    sections = _sections(app, body.sections)
    if not add_subscriber(app, body.email, body.name, sections, body.newsletters):
        raise ApiProblem(409, "this address is already known (in some state); PATCH or GET it instead")
    created = api_pages.subscriber_at(app, body.email)
    record_write(app, caller, "subscriber.create", f"subscriber {created.id}", "active at once")
    return JSONResponse(subscriber_out(created).model_dump(mode="json"), status_code=201)


@router.post(
    "",
    status_code=201,
    response_model=SubscriberOut,
    responses=answer(202, ConfirmationSent, "confirm: the opt-in mail was queued")
    | responses(401, 403, 409, 422, 429),
)
async def create_subscriber(body: SubscriberIn, caller: Writer, app: AppDep) -> JSONResponse:
    """Subscribe an address at once (201), or with ``confirm`` send the double opt-in mail (202)."""
    return await run_in_threadpool(_create, app, caller, body)


@router.patch(
    "/{subscriber_id}", response_model=SubscriberOut, responses=responses(401, 403, 404, 409, 422, 429)
)
def update_subscriber(
    subscriber_id: Id, body: SubscriberChange, caller: Writer, app: AppDep
) -> SubscriberOut:
    """Change sections, newsletters or a pause, exactly as the reader's preferences page does."""
    current = api_pages.subscriber(app, subscriber_id)
    given = body.model_fields_set
    set_preferences(
        app,
        subscriber_id,
        sections=_sections(app, body.sections) if "sections" in given else current.sections,
        pause_weeks=body.pause_weeks,
        newsletters=body.newsletters if "newsletters" in given else None,
    )
    record_write(app, caller, "subscriber.update", f"subscriber {subscriber_id}", ", ".join(sorted(given)))
    return subscriber_out(api_pages.subscriber(app, subscriber_id))


@router.post(
    "/{subscriber_id}/unsubscribe",
    response_model=SubscriberOut,
    responses=responses(401, 403, 404, 409, 422, 429),
)
def unsubscribe(subscriber_id: Id, caller: Writer, app: AppDep) -> SubscriberOut:
    """Unsubscribe from every newsletter (idempotent)."""
    api_pages.subscriber(app, subscriber_id)
    set_status(app, subscriber_id, active=False, via="api")
    record_write(app, caller, "subscriber.unsubscribe", f"subscriber {subscriber_id}")
    return subscriber_out(api_pages.subscriber(app, subscriber_id))


@router.delete(
    "/{subscriber_id}", response_model=Forgotten, responses=responses(401, 403, 404, 409, 422, 429)
)
def forget(subscriber_id: Id, caller: Writer, app: AppDep) -> Forgotten:
    """Forget the reader: personal data deleted, deliveries kept anonymised (as ``subscribers forget``)."""
    found = api_pages.subscriber(app, subscriber_id)
    counts = forget_subscriber(app, found.email)
    record_write(app, caller, "subscriber.forget", f"subscriber {subscriber_id}", "forgotten")
    return Forgotten(forgotten=counts)
