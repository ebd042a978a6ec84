"""Who calls: ``Authorization: Bearer <token>`` names an API token; its scope and rate limit apply.

Every route depends on :data:`Reader` (any live token) or :data:`Writer` (a write token: a read token gets
403). A missing or bad token gets 401 with ``WWW-Authenticate: Bearer``; a token over its requests per
minute gets 429 with ``Retry-After``. Refused requests are counted too, so hammering does not pay.
"""

from __future__ import annotations

from typing import Annotated

import fastapi
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from distro.services.api_tokens import (
    RATE_WINDOW_SECONDS,
    Caller,
    Scope,
    TokenRefused,
    authenticate,
    within_rate,
)
from distro.web.api.problems import ApiProblem
from distro.web.deps import AppDep

_BEARER = HTTPBearer(auto_error=False, description="An API token from `distro api-tokens create`.")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="distro"'}


def _caller(app: AppDep, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    try:
        caller = authenticate(app, credentials.credentials if credentials is not None else None)
    except TokenRefused as exc:
        raise ApiProblem(401, str(exc), headers=CHALLENGE) from None
    if not within_rate(app, caller):
        limit = app.settings.web.api_requests_per_minute
        raise ApiProblem(
            429,
            f"more than {limit} requests in a minute with token {caller.name!r}; slow down",
            headers={"Retry-After": str(RATE_WINDOW_SECONDS)},
        )
    return caller


async def reader(
    app: AppDep, credentials: Annotated[HTTPAuthorizationCredentials | None, fastapi.Depends(_BEARER)]
) -> Caller:
    return await run_in_threadpool(_caller, app, credentials)


Reader = Annotated[Caller, fastapi.Depends(reader)]


async def writer(caller: Reader) -> Caller:
    if caller.scope != Scope.write:
        raise ApiProblem(403, f"token {caller.name!r} is read-only; this route needs a write token")
    return caller


Writer = Annotated[Caller, fastapi.Depends(writer)]
