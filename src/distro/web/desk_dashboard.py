"""GET /desk: the editor's dashboard. Reads :func:`distro.services.desk_overview.overview` and renders it."""

from __future__ import annotations

import fastapi
from fastapi.responses import HTMLResponse

from distro.services.desk_overview import overview
from distro.web.desk_auth import DeskDep, render_desk

router = fastapi.APIRouter(prefix="/desk")


@router.get("", response_class=HTMLResponse)
def dashboard(desk: DeskDep, notice: str | None = None) -> HTMLResponse:
    app = desk.app
    return render_desk(
        desk,
        app,
        "dashboard",
        "Dashboard",
        notice=notice,
        overview=overview(app),
        zone=app.settings.digest.timezone,
    )
