"""``/api/v1/reports``: an edition's figures (``distro report``) and the trend over the last editions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import fastapi
from pydantic import BaseModel

from distro.services.report import EditionReport, trend
from distro.services.report import edition_report as report_of
from distro.web.api.auth import Reader
from distro.web.api.problems import responses
from distro.web.deps import AppDep

router = fastapi.APIRouter(prefix="/reports", tags=["reports"])
NewsletterQuery = Annotated[
    str | None, fastapi.Query(max_length=40, description="slug prefix (default: the main digest)")
]


class LinkOut(BaseModel):
    index: int
    title: str | None
    url: str
    clicks: int  # human clicks
    unique: int


class ReportOut(BaseModel):
    slug: str
    newsletter: str
    subject: str
    queued_at: datetime | None
    recipients: int
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
    click_rate: float
    unsubscribe_rate: float
    opens: int | None  # None: opens are not counted (tracking.opens off)
    machine_opens: int | None
    social_clicks: dict[str, int]
    links: list[LinkOut]


class TrendOut(BaseModel):
    slug: str
    queued_at: datetime | None
    recipients: int
    sent: int
    click_rate: float
    unsubscribes: int
    complaints: int
    hard_bounces: int


def report_out(report: EditionReport) -> ReportOut:
    return ReportOut.model_validate(report, from_attributes=True)


@router.get("/latest", response_model=ReportOut, responses=responses(401, 404, 422, 429))
def latest(_caller: Reader, app: AppDep, newsletter: NewsletterQuery = None) -> ReportOut:
    """The newsletter's latest sent edition."""
    return report_out(report_of(app, newsletter=newsletter))


@router.get("/trend", response_model=list[TrendOut], responses=responses(401, 422, 429))
def editions_trend(_caller: Reader, app: AppDep, newsletter: NewsletterQuery = None) -> list[TrendOut]:
    """The last sent editions, oldest first."""
    return [TrendOut.model_validate(p, from_attributes=True) for p in trend(app, newsletter=newsletter)]


@router.get("/editions/{slug}", response_model=ReportOut, responses=responses(401, 404, 422, 429))
def edition(slug: Annotated[str, fastapi.Path(max_length=100)], _caller: Reader, app: AppDep) -> ReportOut:
    return report_out(report_of(app, slug))
