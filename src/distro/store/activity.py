"""The activity record: rows added in the transaction of the change they describe, read newest first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from distro.db import session_scope
from distro.models import Activity
from distro.store import table

_T = table(Activity)


def add(target: Session | Connection, row: Activity) -> None:
    """Add ``row`` to the caller's transaction (its Session's unit of work, or an insert on a Connection)."""
    if isinstance(target, Session):
        target.add(row)
        return
    values = {"at": row.at, "actor": row.actor, "action": row.action, "subject": row.subject}
    target.execute(sa.insert(_T).values(**values, detail=row.detail))


def newest(
    engine: Engine,
    *,
    actor: str | None = None,
    action: str | None = None,
    before: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> Sequence[Activity]:
    """Up to ``limit`` rows, newest first, older than the ``before`` (at, id) key when given. ``action``
    matches itself and its dotted children ("post" matches "post.hold")."""
    query = select(Activity)
    if actor:
        query = query.where(col(Activity.actor) == actor)
    if action:
        query = query.where(
            sa.or_(
                col(Activity.action) == action, col(Activity.action).startswith(f"{action}.", autoescape=True)
            )
        )
    if before is not None:
        at, row_id = before
        query = query.where(
            sa.or_(col(Activity.at) < at, sa.and_(col(Activity.at) == at, col(Activity.id) < row_id))
        )
    query = query.order_by(col(Activity.at).desc(), col(Activity.id).desc()).limit(limit)
    with session_scope(engine) as session:
        rows = list(session.exec(query))
        for row in rows:
            session.expunge(row)
        return rows


def actors(engine: Engine) -> list[str]:
    """Every actor that has done something, for the desk's filter."""
    with engine.connect() as connection:
        return [str(a) for (a,) in connection.execute(sa.select(_T.c.actor).distinct().order_by(_T.c.actor))]


def actions(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        query = sa.select(_T.c.action).distinct().order_by(_T.c.action)
        return [str(a) for (a,) in connection.execute(query)]


def scrub(session: Session, names: Sequence[str], tag: str) -> int:
    """Rewrite every row naming one of ``names`` (a reader's addresses, any case) to ``tag``: a reader who
    is forgotten is not remembered here either. Returns how many rows changed."""
    changed = 0
    for name in {n.lower() for n in names if n}:
        naming = sa.or_(
            sa.func.lower(col(Activity.subject)).contains(name, autoescape=True),
            sa.func.lower(col(Activity.detail)).contains(name, autoescape=True),
        )
        for row in session.exec(select(Activity).where(naming)):
            row.subject, row.detail = _replaced(row.subject, name, tag), _replaced(row.detail, name, tag)
            session.add(row)
            changed += 1
    return changed


def _replaced(text: str, name: str, tag: str) -> str:
    found = text.lower().find(name)
    while found >= 0:
        text = text[:found] + tag + text[found + len(name) :]
        found = text.lower().find(name, found + len(tag))
    return text
