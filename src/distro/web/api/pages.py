"""Cursor pagination: a list answers ``items`` and ``next_cursor``, which the client sends back as
``cursor`` for the next page (absent on the last one).

A cursor is opaque to the client (the last id shown, base64url-encoded, so clients never build one), and
the page behind it is a keyset read (ids above it), so rows added meanwhile never shift a page.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

import fastapi
from pydantic import BaseModel

from distro.web.api.problems import ApiProblem

T = TypeVar("T")
R = TypeVar("R")
MAX_ID = 2**31 - 1  # ids are INTEGER columns: larger ones are refused, never passed to the database
MAX_LIMIT = 200
_CURSOR = re.compile(r"id:([0-9]{1,19})")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None  # send it back as ?cursor= for the next page; null on the last


Cursor = Annotated[
    str | None,
    fastapi.Query(max_length=64, description="next_cursor of the previous page; leave out for the first"),
]
Limit = Annotated[int, fastapi.Query(ge=1, le=MAX_LIMIT, description="items per page")]
Id = Annotated[int, fastapi.Path(ge=1, le=MAX_ID)]


def encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def after(cursor: str | None) -> int:
    """The id a cursor continues after (0 for the first page); 422 for one this API did not make."""
    if cursor is None:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raw = ""
    match = _CURSOR.fullmatch(raw)
    if match is None or int(match.group(1)) > MAX_ID:
        raise ApiProblem(422, "bad cursor: send back the next_cursor of the previous page unchanged")
    return int(match.group(1))


def page(rows: Sequence[R], limit: int, id_of: Callable[[R], int], shape: Callable[[R], T]) -> Page[T]:
    """The first ``limit`` of ``rows`` (read with ``limit + 1``), with a cursor when there were more."""
    shown = rows[:limit]
    more = len(rows) > limit and shown
    return Page[T](items=[shape(r) for r in shown], next_cursor=encode(id_of(shown[-1])) if more else None)
