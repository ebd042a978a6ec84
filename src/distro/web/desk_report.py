"""GET /desk/reports (the trend across editions) and /desk/report/<slug> (one edition): the figures of
:mod:`distro.services.report`, with small SVG bar charts drawn by the template (the desk runs no scripts)."""

from __future__ import annotations

from dataclasses import dataclass

import fastapi
from fastapi.responses import HTMLResponse

from distro.errors import InvalidInput, NotFound
from distro.services.report import edition_report, trend
from distro.web.desk_auth import DeskDep, render_desk

router = fastapi.APIRouter(prefix="/desk")
BAR_WIDTH = 420  # SVG units of the longest bar
ROW = 22  # SVG units per bar


@dataclass(frozen=True, slots=True)
class HBar:
    label: str
    value: str  # as shown at the bar's end
    y: int
    width: float


def hbars(rows: list[tuple[str, float, str]]) -> list[HBar]:
    """Horizontal bars for (label, value, shown value), scaled to the largest value; a zero is no bar."""
    peak = max([value for _, value, _ in rows] + [0]) or 1
    return [
        HBar(label, shown, index * ROW, round(BAR_WIDTH * value / peak, 1))
        for index, (label, value, shown) in enumerate(rows)
    ]


@router.get("/reports", response_class=HTMLResponse)
def reports_page(desk: DeskDep, newsletter: str | None = None) -> HTMLResponse:
    app = desk.app
    prefix = newsletter or app.settings.digest.slug_prefix
    try:
        points = trend(app, newsletter=prefix)
    except InvalidInput as exc:
        return render_desk(desk, app, "reports", "Reports", status=404, error=str(exc), points=[], chart=[])
    chart = hbars([(p.slug, p.click_rate, f"{p.click_rate:.1%}") for p in points])
    return render_desk(
        desk,
        app,
        "reports",
        "Reports",
        points=list(reversed(points)),  # the table lists the newest first
        chart=chart,
        chart_height=max(len(chart), 1) * ROW,
        newsletters=app.settings.all_newsletters,
        current=prefix,
    )


@router.get("/report/{slug}", response_class=HTMLResponse)
def report_page(desk: DeskDep, slug: str) -> HTMLResponse:
    app = desk.app
    try:
        report = edition_report(app, slug)
    except NotFound as exc:
        return render_desk(desk, app, "reports", "Reports", status=404, error=str(exc), points=[], chart=[])
    chart = hbars([(link.title or link.url, link.unique, str(link.unique)) for link in report.links])
    return render_desk(
        desk,
        app,
        "report",
        f"Report: {report.slug}",
        report=report,
        chart=chart,
        chart_height=max(len(chart), 1) * ROW,
        bar_width=BAR_WIDTH,
    )
