"""Editors of the desk, their sign-in clients (the per-client lockout) and their desk sessions.

The sign-in lock rows are read ``FOR UPDATE`` inside the caller's transaction, so parallel attempts at one
address serialise on them (:mod:`distro.services.editors` says why); the purges are bounded and skip rows
another sign-in holds on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from distro.db import is_postgres, session_scope
from distro.models import Editor, EditorSession, SignInClient


def by_email(session: Session, address: str, *, lock: bool = False) -> Editor | None:
    """The editor with this (normalised) address; ``lock`` holds its row to the end of the transaction."""
    query = select(Editor).where(col(Editor.email) == address)
    return session.exec(query.with_for_update() if lock else query).first()


def locked(session: Session, editor_id: int | None) -> Editor | None:
    """The editor's row, held to the end of the transaction."""
    return session.exec(select(Editor).where(col(Editor.id) == editor_id).with_for_update()).first()


def every(engine: Engine) -> list[Editor]:
    with session_scope(engine) as session:
        return list(session.exec(select(Editor).order_by(col(Editor.email))))


# -- sign-in clients --------------------------------------------------------------------------------------


def client(session: Session, address_hash: str, client_hash: str, now: datetime) -> SignInClient:
    """The client's row for this address, created when new, held to the end of the transaction."""
    key = {"address_hash": address_hash, "client_hash": client_hash}
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    new_client = insert(SignInClient).values(**key, failures=0, last_attempt_at=now)
    session.execute(new_client.on_conflict_do_nothing(index_elements=["address_hash", "client_hash"]))
    return session.exec(select(SignInClient).filter_by(**key).with_for_update()).one()


def forget_client(session: Session, address_hash: str, client_hash: str) -> None:
    mine = (col(SignInClient.address_hash) == address_hash) & (col(SignInClient.client_hash) == client_hash)
    session.execute(sa.delete(SignInClient).where(mine))


def forget_address(session: Session, address_hash: str) -> None:
    """Forget every client's attempts at one address (lifting their locks)."""
    session.execute(sa.delete(SignInClient).where(col(SignInClient.address_hash) == address_hash))


def forget_stale(engine: Engine, *, idle_since: datetime, now: datetime, most: int) -> None:
    """Forget up to ``most`` clients idle since before ``idle_since`` whose lock has ended (on PostgreSQL
    rows another sign-in holds are skipped, so this never waits for one)."""
    lock_over = sa.or_(col(SignInClient.locked_until).is_(None), col(SignInClient.locked_until) <= now)
    stale = (
        sa.select(col(SignInClient.address_hash), col(SignInClient.client_hash))
        .where(col(SignInClient.last_attempt_at) < idle_since, lock_over)
        .limit(most)
    )
    if is_postgres(engine):
        stale = stale.with_for_update(skip_locked=True)
    keys = sa.tuple_(col(SignInClient.address_hash), col(SignInClient.client_hash))
    with engine.begin() as connection:
        connection.execute(sa.delete(SignInClient).where(keys.in_(stale)))


# -- desk sessions ----------------------------------------------------------------------------------------


def end_sessions(session: Session, editor_id: int | None) -> None:
    """End every desk session of the editor (a new password, or the editor is removed)."""
    session.exec(delete(EditorSession).where(col(EditorSession.editor_id) == editor_id))


def open_session(engine: Engine, row: EditorSession, now: datetime) -> None:
    """Store a new desk session, purging the expired ones."""
    with session_scope(engine) as session:
        session.exec(delete(EditorSession).where(col(EditorSession.expires_at) <= now))
        session.add(row)


def live_session(engine: Engine, digest: str, now: datetime) -> tuple[EditorSession, Editor] | None:
    """The unexpired session stored under ``digest`` and its editor, if both still exist."""
    with session_scope(engine) as session:
        row = session.get(EditorSession, digest)
        if row is None or row.expires_at <= now:
            return None
        editor = session.get(Editor, row.editor_id)
        return None if editor is None else (row, editor)


def close_session(engine: Engine, digest: str) -> None:
    with session_scope(engine) as session:
        session.exec(delete(EditorSession).where(col(EditorSession.id) == digest))
