"""RFC 9457 problem details: every error of ``/api/v1`` answers ``application/problem+json``.

Routes raise :class:`ApiProblem` (or let a :class:`~distro.errors.DistroError` through: NotFound is 404,
InvalidInput 422, Refused 403, any other 409, the state of things forbidding the change); FastAPI's own
errors (an unknown path, a wrong method, a request that fails validation) get the same shape, a
validation error with ``errors`` naming each field.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import fastapi
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from distro.errors import DistroError, InvalidInput, NotFound, Refused

MEDIA_TYPE = "application/problem+json"


class FieldProblem(BaseModel):
    """One field of a request that failed validation."""

    loc: list[str | int]  # where: "body", "query", "path", then the field's path
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem: ``type`` is ``about:blank`` (the status says it all), ``title`` its phrase."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None  # validation errors only


class ApiProblem(Exception):
    """Answer ``status`` with ``detail`` (one sentence saying what to change) and optional headers."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE


def problem(
    status: int, detail: str, *, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail, **extra)
    return ProblemResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def status_of(exc: DistroError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, InvalidInput):
        return 422
    if isinstance(exc, Refused):
        return 403
    return 409


def _where(loc: Any) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


def install(api: fastapi.FastAPI) -> None:
    """Answer every error of ``api`` as a problem."""

    @api.exception_handler(ApiProblem)
    async def _api_problem(_request: fastapi.Request, exc: ApiProblem) -> JSONResponse:
        return problem(exc.status, exc.detail, headers=exc.headers)

    @api.exception_handler(DistroError)
    async def _distro_error(_request: fastapi.Request, exc: DistroError) -> JSONResponse:
        return problem(status_of(exc), str(exc))

    @api.exception_handler(HTTPException)
    async def _http_error(_request: fastapi.Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's only 400: a body it cannot decode; a 422 as any bad input
            return problem(422, "the body could not be read: send UTF-8 JSON", headers=exc.headers)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem(exc.status_code, detail, headers=exc.headers)

    @api.exception_handler(RequestValidationError)
    async def _invalid(_request: fastapi.Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldProblem(loc=_where(e.get("loc", ())), msg=str(e.get("msg", "")), type=str(e.get("type", "")))
            for e in exc.errors()
        ]
        first = errors[0] if errors else None
        detail = f"{'.'.join(map(str, first.loc))}: {first.msg}" if first else "the request is not valid"
        return problem(422, detail, errors=[e.model_dump() for e in errors])


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entries of the problems a route may answer (the Problem schema is added by
    :func:`distro.web.api.create_api`)."""
    what = {
        401: "no token, or an unknown or revoked one (WWW-Authenticate: Bearer)",
        403: "a read token on a route that writes",
        404: "nothing by that id",
        409: "the change cannot be made in the thing's present state",
        422: "a request that is not valid (the problem's errors name the fields)",
        429: "too many requests for this token (Retry-After says when to try again)",
    }
    ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {code: {"description": what[code], "content": {MEDIA_TYPE: ref}} for code in codes}


def answer(status: int, model: type[BaseModel], description: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry of a second success a route may answer (``status`` with ``model``)."""
    return {status: {"model": model, "description": description}}
