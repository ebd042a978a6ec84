"""Engine, sessions and schema upgrades. SQLite by default, PostgreSQL by URL.

The schema is owned by Alembic (``distro/migrations``): :func:`upgrade` brings any database to the
newest revision without losing data, and is what ``distro init`` runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from distro.errors import ConfigError

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"

DATABASE_DOWN = (sa.exc.OperationalError, sa.exc.InterfaceError)
"""What a lost or refused database connection raises (SQLite's "database is locked" too)."""

# libpq: give up connecting after 10 s, and notice a peer that vanished without closing (~25 s), so a
# worker never hangs on a dead connection; a URL that sets these itself wins.
_PG_CONNECT_ARGS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}


def normalise_url(url: str) -> str:
    """Let users write ``postgresql://``; we drive PostgreSQL with psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if url.startswith("postgresql+psycopg") and not _psycopg_installed():
        raise ConfigError(
            "the database URL names PostgreSQL but its driver is not installed: "
            "pip install 'distro[postgres]' (psycopg 3)"
        )
    given = sa.engine.make_url(url).query
    connect_args = {k: v for k, v in _PG_CONNECT_ARGS.items() if k not in given} if "psycopg" in url else {}
    connect_args |= kwargs.pop("connect_args", {})
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def _psycopg_installed() -> bool:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return False
    return True


def describe_database_error(exc: BaseException) -> str:
    """The driver's first line, without SQLAlchemy's statement and links (never the URL)."""
    origin = getattr(exc, "orig", None) or exc
    text = str(origin).strip()
    return text.splitlines()[0] if text else type(origin).__name__


def wait_for_database(engine: Engine, stop: threading.Event, *, most_seconds: float = 30.0) -> bool:
    """Block until the database answers (True) or ``stop`` is set (False); one log line per try.

    Long-running faces (``distro worker``, ``distro run``) start with this, so a database that is still
    booting, or away for a while, is a wait with backoff, not a traceback.
    """
    delay = 1.0
    while not stop.is_set():
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            return True
        except DATABASE_DOWN as exc:
            log.warning("database unreachable (%s); retrying in %.0fs", describe_database_error(exc), delay)
        if stop.wait(delay):
            break
        delay = min(delay * 2, most_seconds)
    return False


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself (below) so every transaction takes the write lock up front:
    # SQLite then serialises writers instead of failing with "database is locked" on upgrade.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision of every Alembic branch."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def current_revisions(engine: Engine) -> set[str]:
    """The applied revision of every branch (features add their tables on branches off 0001)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def head_revisions() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(config).get_heads())
