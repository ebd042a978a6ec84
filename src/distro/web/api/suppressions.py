"""``/api/v1/suppressions``: the addresses nothing is sent to; add one, or take one off (an editor's call)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import fastapi
from pydantic import BaseModel, Field

from distro.models import Suppression, SuppressionReason
from distro.services import api_pages
from distro.services.api_tokens import record_write
from distro.services.suppression import suppress, unsuppress
from distro.web.api.auth import Reader, Writer
from distro.web.api.bodies import Body
from distro.web.api.pages import Cursor, Limit, Page, after, page
from distro.web.api.problems import ApiProblem, answer, responses
from distro.web.deps import AppDep

router = fastapi.APIRouter(prefix="/suppressions", tags=["suppressions"])
Address = Annotated[str, fastapi.Path(max_length=320)]


class SuppressionOut(BaseModel):
    id: int
    email: str
    reason: SuppressionReason
    detail: str | None
    created_at: datetime


class SuppressionIn(Body):
    email: str = Field(max_length=320)
    reason: SuppressionReason = SuppressionReason.MANUAL
    detail: str | None = Field(default=None, max_length=500)


class Removed(BaseModel):
    email: str
    removed: bool


def suppression_out(row: Suppression) -> SuppressionOut:
    return SuppressionOut.model_validate(row, from_attributes=True)


@router.get("", response_model=Page[SuppressionOut], responses=responses(401, 422, 429))
def list_suppressions(
    _caller: Reader,
    app: AppDep,
    cursor: Cursor = None,
    limit: Limit = 50,
    reason: SuppressionReason | None = None,
) -> Page[SuppressionOut]:
    rows = api_pages.suppressions(app, after=after(cursor), limit=limit + 1, reason=reason)
    return page(rows, limit, lambda s: s.id or 0, suppression_out)


@router.post(
    "",
    status_code=201,
    response_model=SuppressionOut,
    responses=answer(200, SuppressionOut, "already on the list (its first reason kept)")
    | responses(401, 403, 422, 429),
)
def add_suppression(
    body: SuppressionIn, caller: Writer, app: AppDep, response: fastapi.Response
) -> SuppressionOut:
    """Put an address on the list; nothing is sent to it from now on, whoever it belongs to."""
    added = suppress(app.engine, body.email, body.reason, body.detail)
    row = api_pages.suppression_of(app, body.email)
    if added:
        record_write(app, caller, "suppression.add", f"suppression {row.id}", body.reason.value)
    else:
        response.status_code = 200
    return suppression_out(row)


@router.delete("/{email}", response_model=Removed, responses=responses(401, 403, 404, 422, 429))
def remove_suppression(email: Address, caller: Writer, app: AppDep) -> Removed:
    """Take an address off the list (its hard-bounce count starts again)."""
    if not unsuppress(app.engine, email):
        raise ApiProblem(404, f"{email} is not on the suppression list")
    record_write(app, caller, "suppression.remove", "suppression", "address taken off the list")
    return Removed(email=email, removed=True)
