"""One active scheduler per database: the others wait as hot standbys.

On PostgreSQL the leader holds a session-level advisory lock on a dedicated connection; if its process
dies the session ends, the lock is freed and a standby on any machine takes over at its next try. SQLite
lives on one machine, so an exclusive ``flock`` on a file next to the data does the same job.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from distro.db import is_postgres

# pg_try_advisory_lock(class, object): the class is distro's own 32-bit key (other applications on the
# same database must not reuse it), the object the schema's name hashed, so two distro installations in
# one database (a schema each) have a leader each, and two schedulers on one schema exclude each other.
LOCK_CLASS = 0x64697374  # "dist"
_LOCK_ARGS = "CAST(:k AS integer), hashtext(current_schema())"


class Leadership(Protocol):
    def try_acquire(self) -> bool: ...

    def still_held(self) -> bool: ...

    def release(self) -> None: ...


class PostgresLeadership:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        if self._connection is None:
            self._connection = self._engine.connect()
        got = bool(
            self._connection.execute(
                sa.text(f"SELECT pg_try_advisory_lock({_LOCK_ARGS})"), {"k": LOCK_CLASS}
            ).scalar()
        )
        self._connection.commit()
        return got

    def still_held(self) -> bool:
        """False when the lock's session is gone (database restarted, connection cut)."""
        if self._connection is None:
            return False
        try:
            held = self._connection.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                )
            ).scalar()
            self._connection.commit()
            return bool(held)
        except sa.exc.DBAPIError:
            return False

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(
                    sa.text(f"SELECT pg_advisory_unlock({_LOCK_ARGS})"), {"k": LOCK_CLASS}
                )
                self._connection.commit()
            except sa.exc.DBAPIError:
                pass
            self._connection.close()
            self._connection = None


class FileLeadership:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._handle: IO[str] | None = None

    def try_acquire(self) -> bool:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = self._path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return True

    def still_held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def leadership_for(engine: Engine, var_dir: Path) -> Leadership:
    return PostgresLeadership(engine) if is_postgres(engine) else FileLeadership(var_dir / "scheduler.lock")
