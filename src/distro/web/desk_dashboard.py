"""GET /desk: the editor's dashboard. Reads :func:`distro.services.desk_overview.overview` and renders it."""

from __future__ import annotations

import fastapi
from fastapi.responses import Response

from distro.services.desk_overview import overview
from distro.web.desk_auth import DeskDep, render_desk
from distro.web.desk_flash import read_flash

router = fastapi.APIRouter(prefix="/desk")


@router.get("", response_model=None)
def dashboard(desk: DeskDep, request: fastapi.Request) -> Response:
    app = desk.app
    flash = read_flash(request, desk)
    page = render_desk(
        desk,
        app,
        "dashboard",
        "Dashboard",
        notice=flash.notice,
        error=flash.error,
        overview=overview(app),
    )
    return flash.clear(page)
