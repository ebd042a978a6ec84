"""Where a benchmark's distro database lives: SQLite in the work folder, or a throwaway PostgreSQL schema.

A work folder holding ``database.url`` uses that URL (a schema of its own in the PostgreSQL database at
``DISTRO_BENCH_POSTGRES_URL``, default the test server's ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
any other uses ``distro.db`` inside it. Spawned processes read the file, so they all share one database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from distro.db import make_engine

POSTGRES = os.environ.get("DISTRO_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
URL_FILE = "database.url"


def database_url(work: Path) -> str:
    marker = work / URL_FILE
    return marker.read_text().strip() if marker.exists() else f"sqlite:///{work / 'distro.db'}"


def postgres_problem() -> str | None:
    """Why PostgreSQL rows cannot run here, or None."""
    try:
        engine = make_engine(POSTGRES, poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any reason: the rows are skipped and the reason printed
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None


@contextmanager
def postgres_schema(work: Path) -> Iterator[Path]:
    """A fresh schema for ``work`` (written to its ``database.url``), dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES, poolclass=sa.pool.NullPool)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    (work / URL_FILE).write_text(f"{POSTGRES}?options=-csearch_path%3D{schema}")
    try:
        yield work
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
