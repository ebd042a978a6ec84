"""``/api/v1/deliveries``: the delivery log (every send to a reader or an account, with its outcome),
filterable as ``distro log`` and the desk's log are."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import fastapi
from pydantic import BaseModel
from sqlalchemy.engine import Row

from distro.models import DeliveryStatus
from distro.services import api_pages
from distro.store.delivery_log import LogFilter
from distro.web.api.auth import Reader
from distro.web.api.pages import Cursor, Limit, Page, after, page
from distro.web.api.problems import responses
from distro.web.deps import AppDep

router = fastapi.APIRouter(prefix="/deliveries", tags=["deliveries"])


class DeliveryOut(BaseModel):
    id: int
    channel: str
    recipient: str  # an address, or a social account
    status: DeliveryStatus
    attempts: int
    edition: str | None  # the edition's slug, for a digest
    post_id: int | None  # the social post, for a post
    provider_id: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


def delivery_out(row: Row[Any]) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        channel=row.channel,
        recipient=row.recipient,
        status=row.status,
        attempts=row.attempts,
        edition=row.slug,
        post_id=row.social_post_id,
        provider_id=row.provider_id,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        sent_at=row.sent_at,
    )


@router.get("", response_model=Page[DeliveryOut], responses=responses(401, 422, 429))
def list_deliveries(
    _caller: Reader,
    app: AppDep,
    cursor: Cursor = None,
    limit: Limit = 50,
    channel: Annotated[str | None, fastapi.Query(max_length=80)] = None,
    status: DeliveryStatus | None = None,
    edition: Annotated[str | None, fastapi.Query(max_length=100, description="an edition's slug")] = None,
    recipient: Annotated[str | None, fastapi.Query(max_length=320, description="part of the address")] = None,
) -> Page[DeliveryOut]:
    """Deliveries in the order they were queued."""
    wanted = LogFilter(digest=edition, channel=channel, status=status, address=recipient)
    rows = api_pages.deliveries(app, wanted, after=after(cursor), limit=limit + 1)
    return page(rows, limit, lambda r: int(r.id), delivery_out)
