"""GET /desk/activity: who changed what, newest first, filtered by actor and action, in pages (keyset).

Read-only by design: there is no form here and no POST route, so the record cannot be edited from the desk.
A filter value the record does not hold simply matches nothing; a broken page key is named on the page.
"""

from __future__ import annotations

from urllib.parse import urlencode

import fastapi
from fastapi.responses import HTMLResponse

from distro.errors import DistroError
from distro.services.activity import filters, list_activity
from distro.web.desk_auth import DeskDep, render_desk

router = fastapi.APIRouter(prefix="/desk")
PAGE_SIZE = 50


def _link(actor: str, action: str, after: str | None = None) -> str:
    params = {k: v for k, v in (("actor", actor), ("action", action), ("after", after)) if v}
    return "/desk/activity" + (f"?{urlencode(params)}" if params else "")


@router.get("/activity", response_class=HTMLResponse)
def activity_page(desk: DeskDep, actor: str = "", action: str = "", after: str | None = None) -> HTMLResponse:
    app = desk.app
    actor, action = actor.strip()[:400], action.strip()[:40]
    error = None
    try:
        found = list_activity(app, actor=actor or None, action=action or None, after=after, limit=PAGE_SIZE)
    except DistroError as exc:
        found, error = (
            list_activity(app, actor=actor or None, action=action or None, limit=PAGE_SIZE),
            str(exc),
        )
    actors, actions = filters(app)
    return render_desk(
        desk,
        app,
        "activity",
        "Activity",
        error=error,
        found=found,
        actor=actor,
        action=action,
        actors=actors,
        actions=sorted({a.split(".")[0] for a in actions} | set(actions)),
        first=_link(actor, action) if after else None,
        older=_link(actor, action, found.next_key) if found.next_key else None,
    )
