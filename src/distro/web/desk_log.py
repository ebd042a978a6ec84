"""GET /desk/log: the delivery log with filters, pages of 50 and a chart of sends and failures.

Query parameters (``digest``, ``channel``, ``status``, ``address``, ``page``) are read leniently: a value
that makes no sense is dropped and named on the page, never answered with an error status.
"""

from __future__ import annotations

from urllib.parse import urlencode

import fastapi
from fastapi.responses import HTMLResponse

from distro.services.delivery_log import LogFilter, log_page
from distro.web.desk_auth import DeskDep, render_desk
from distro.web.desk_chart import bar_chart

router = fastapi.APIRouter(prefix="/desk")


def page_link(wanted: LogFilter, page: int) -> str:
    """This page of the log with the same filters."""
    params = wanted.params() | ({"page": str(page)} if page > 1 else {})
    return "/desk/log" + (f"?{urlencode(params)}" if params else "")


@router.get("/log", response_class=HTMLResponse)
def delivery_log_page(desk: DeskDep, request: fastapi.Request) -> HTMLResponse:
    app = desk.app
    found = log_page(app, request.query_params)
    return render_desk(
        desk,
        app,
        "log",
        "Delivery log",
        error=" ".join(found.problems) or None,
        log=found,
        chart=bar_chart(found.activity),
        newer=page_link(found.filter, found.page - 1) if found.page > 1 else None,
        older=page_link(found.filter, found.page + 1) if found.has_older else None,
        zone=app.settings.digest.timezone,
    )
