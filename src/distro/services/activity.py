"""Who changed what: one row per change made from the desk, the command line or the API (issue 21).

Each use case that changes something calls :func:`record_activity` inside its own transaction, with the
``actor`` its face passed in, so the record and the change commit (or roll back) together and every face
gets the same record once (a use case whose store functions commit by themselves calls :func:`record`
right after them). Actors: ``editor:<email>`` (desk), ``cli`` / ``cli:<os user>``,
``api:<token name>``, ``system``. Actions are short dotted verbs (``edition.send``, ``post.hold``,
``subscriber.forget``, ``signin.failed``...). ``detail`` is short text for a person: never a secret, never
a password, never the address of a reader who was forgotten.

The record is read-only everywhere: the desk lists it (``/desk/activity``), ``distro activity`` prints it,
and nothing offers to change or delete a row.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from distro.app import App
from distro.db import session_scope
from distro.errors import InvalidInput
from distro.models import Activity, utcnow
from distro.store import activity

MAX_DETAIL = 2000
PAGE_SIZE = 50


def record_activity(
    session: Session | Connection, *, actor: str, action: str, subject: str = "", detail: str = ""
) -> None:
    """Add one activity row to the caller's transaction (it commits with the change it describes)."""
    row = Activity(
        at=utcnow(),
        actor=actor[:400] or "system",
        action=action[:40],
        subject=subject[:200],
        detail=" ".join(detail.split())[:MAX_DETAIL],
    )
    activity.add(session, row)


def record(app: App | Engine, *, actor: str | None, action: str, subject: str = "", detail: str = "") -> None:
    """One activity row in a transaction of its own, for a use case whose change the store commits by
    itself (an edition's edit, schedule or send): recorded right after the change has committed. No
    ``actor``: a caller that records for itself (or the scheduler's own sends), nothing is written."""
    if actor is None:
        return
    with session_scope(app.engine if isinstance(app, App) else app) as session:
        record_activity(session, actor=actor, action=action, subject=subject, detail=detail)


def cli_actor() -> str:
    """``cli:<os user>`` for the command line, or plain ``cli`` when the user cannot be told."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (a container), no LOGNAME
        return "cli"
    return f"cli:{user}" if user else "cli"


def editor_actor(email: str) -> str:
    return f"editor:{email}"


@dataclass(frozen=True, slots=True)
class ActivityPage:
    """One page of the record, newest first; ``next_key`` opens the next (older) page, None at the end."""

    rows: list[Activity]
    next_key: str | None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _key(row: Activity) -> str:
    """A page's key: the last row's time in microseconds since 1970 and its id (URL-safe, exact)."""
    return f"{(row.at - _EPOCH) // timedelta(microseconds=1)}_{row.id}"


def _parse_key(key: str) -> tuple[datetime, int]:
    micros, _, row_id = key.partition("_")
    try:
        return _EPOCH + timedelta(microseconds=int(micros)), int(row_id)
    except (ValueError, OverflowError):
        raise InvalidInput(f"{key[:40]!r} is not a page of the activity record") from None


def list_activity(
    app: App,
    *,
    actor: str | None = None,
    action: str | None = None,
    after: str | None = None,
    limit: int = PAGE_SIZE,
) -> ActivityPage:
    """Rows newest first, filtered by exact actor and by action (itself or its dotted children); ``after``
    is a page's ``next_key`` (keyset paging: a page stays put while new rows arrive)."""
    if limit < 1 or limit > 10_000:
        raise InvalidInput(f"--limit must be between 1 and 10000, not {limit}")
    before = _parse_key(after) if after else None
    rows = list(activity.newest(app.engine, actor=actor, action=action, before=before, limit=limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more and rows else None
    return ActivityPage(rows, _key(last) if last else None)


def filters(app: App) -> tuple[list[str], list[str]]:
    """The actors and the actions the record holds, for the desk's filter choices."""
    return activity.actors(app.engine), activity.actions(app.engine)
