"""Build the FastAPI application around a wired :class:`~distro.app.App`.

Routers reach the App through :data:`distro.web.deps.AppDep` (a FastAPI dependency), never through a
global, so tests run several web apps side by side. To add pages (unsubscribe, preferences, editor desk),
write a router module in this package and include it in :data:`ROUTERS`.
"""

from __future__ import annotations

import fastapi
from fastapi.responses import JSONResponse

from distro.app import App
from distro.errors import DistroError
from distro.web import (
    archive,
    bounce_hooks,
    desk_accounts,
    desk_activity,
    desk_api_tokens,
    desk_auth,
    desk_dashboard,
    desk_digest,
    desk_editors,
    desk_log,
    desk_report,
    desk_social,
    desk_sources,
    desk_subscribers,
    desk_time,
    hooks,
    ops,
    redirect,
    subscribers,
    websub,
)
from distro.web.api import mount_api
from distro.web.headers import SecurityHeaders
from distro.web.schema import drop_guessed_bodies

ROUTERS: list[fastapi.APIRouter] = [
    hooks.router,
    bounce_hooks.router,
    websub.router,
    ops.router,
    redirect.router,
    subscribers.router,
    desk_auth.router,
    desk_dashboard.router,
    desk_digest.router,
    desk_log.router,
    desk_activity.router,
    desk_subscribers.router,
    desk_editors.router,
    desk_api_tokens.router,
    desk_accounts.router,
    desk_report.router,
    desk_social.router,
    desk_sources.router,
    archive.router,
]


def create_web_app(app: App, *, routers: list[fastapi.APIRouter] | None = None) -> fastapi.FastAPI:
    """A FastAPI app serving ``routers`` (default: :data:`ROUTERS`) for ``app``."""
    web = fastapi.FastAPI(title=f"{app.settings.publication.name} · distro", docs_url=None, redoc_url=None)
    web.state.distro = app
    desk_time.install(app.templates, app.settings)  # one way every desk page writes a time
    web.add_middleware(SecurityHeaders)  # CSP, nosniff, no-referrer on every response; HEAD as GET
    for router in routers if routers is not None else ROUTERS:
        web.include_router(router)
    drop_guessed_bodies(web)  # /openapi.json claims only declared bodies (tests/web/test_fuzz.py checks them)
    mount_api(web, app)  # the REST API at /api/v1, with its own schema at /api/v1/openapi.json

    @web.exception_handler(DistroError)
    async def _distro_error(_request: fastapi.Request, exc: DistroError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    return web
