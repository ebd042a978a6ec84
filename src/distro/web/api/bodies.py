"""What every request body and query of the API refuses before a use case sees it: NUL characters
(PostgreSQL cannot store them in text, SQLite would keep them) and times that only exist in another
offset (``9999-12-31T23:59-01:00`` is past the last representable UTC time)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import fastapi
from pydantic import AfterValidator, BaseModel, model_validator

from distro.web.api.problems import ApiProblem


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class Body(BaseModel):
    """A request body: no string in it may hold a NUL character (422 naming it)."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("text may not contain NUL characters (U+0000)")
        return data


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range once in UTC") from None


Utc = AfterValidator(_in_utc)
UtcDatetime = Annotated[datetime, Utc]


def no_nul(request: fastapi.Request) -> None:
    """Refuse a path or query holding a NUL character (422), whatever route it is for."""
    if "\x00" in request.url.path or any(_has_nul(v) for v in request.query_params.values()):
        raise ApiProblem(422, "the path and query may not contain NUL characters (%00)")
