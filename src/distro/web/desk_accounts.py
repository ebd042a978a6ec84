"""GET/POST /desk/accounts: the social accounts as ``distro accounts list`` shows them, for admins only.

Each account's platform, name, mode, sections, state (ok, paused with the provider's reason, needs
re-authorisation), token source and end, queued posts and last error, with a word on what to do. The one
action is the command line's ``distro accounts refresh`` (refresh the Threads and LinkedIn tokens that
end soon), recorded in the activity log; authorising an account stays ``distro auth`` on the command line.
"""

from __future__ import annotations

import fastapi
from fastapi.responses import Response

from distro.errors import DistroError
from distro.services.desk_accounts import account_views, refresh_accounts
from distro.web.desk_auth import DeskAdmin, DeskAdminPost, render_desk
from distro.web.desk_flash import back, read_flash

router = fastapi.APIRouter(prefix="/desk")
PAGE = "/desk/accounts"


@router.get("/accounts", response_model=None)
def accounts_page(desk: DeskAdmin, request: fastapi.Request) -> Response:
    flash = read_flash(request, desk)
    try:
        accounts, problem = account_views(desk.app), None
    except DistroError as exc:  # a settings mistake (a repeated account name): said, not a 500
        accounts, problem = [], f"The accounts cannot be read: {exc}."
    page = render_desk(
        desk,
        desk.app,
        "accounts",
        "Social accounts",
        notice=flash.notice,
        error=flash.error or problem,
        accounts=accounts,
    )
    return flash.clear(page)


@router.post("/accounts/refresh", response_model=None)
def accounts_refresh(form: DeskAdminPost) -> Response:
    """Refresh every due expiring token now, as the scheduler does at each poll."""
    desk = form.desk
    try:
        checks = refresh_accounts(desk.app, actor=desk.actor)
    except DistroError as exc:
        return back(desk, PAGE, error=f"Not refreshed: {exc}.")
    if not checks:
        return back(desk, PAGE, notice="No Threads or LinkedIn account in API mode: nothing to refresh.")
    said = "; ".join(f"{c.channel}: {c.outcome}" + (f" ({c.detail})" if c.detail else "") for c in checks)
    failed = any(c.outcome in ("paused", "expired", "not checked") for c in checks)
    return back(desk, PAGE, **{"error" if failed else "notice": f"Token refresh: {said}."})
