"""Shared fixtures. Database tests run on SQLite and on the real PostgreSQL at 127.0.0.1:5432.

A test that needs a system part skips with the reason when the part is missing, except under CI=true,
where a missing part fails the run: CI must never go green by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from distro.app import App, build_app
from distro.db import make_engine, upgrade
from distro.settings import Settings, SourceSettings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_FEED = ROOT / "examples" / "feed.xml"
EXAMPLE_SUBSCRIBERS = ROOT / "examples" / "subscribers.csv"
PG_URL = os.environ.get("DISTRO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def require(part: str, reason: str) -> None:
    """Skip (locally) or fail (under CI=true) because ``part`` is missing."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{part} is required under CI=true: {reason}", pytrace=False)
    pytest.skip(f"{part} not available: {reason}")


_PG_STATE: dict[str, str | None] = {}


def _postgres_problem() -> str | None:
    if "problem" not in _PG_STATE:
        try:
            engine = make_engine(PG_URL, poolclass=sa.pool.NullPool)
            with engine.connect() as connection:
                connection.execute(sa.text("select 1"))
            _PG_STATE["problem"] = None
        except Exception as exc:  # any failure means "not available"; the reason is shown
            _PG_STATE["problem"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return _PG_STATE["problem"]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A private schema in the test database, dropped afterwards, so runs never see each other's rows."""
    problem = _postgres_problem()
    if problem:
        require("PostgreSQL on 127.0.0.1:5432", problem)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL, poolclass=sa.pool.NullPool)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'distro.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        templates_dir=ROOT / "templates",
        # backfill=12: the example's twelve articles are this week's news, not a back catalogue.
        sources=[SourceSettings(name="meridian-review", url=str(EXAMPLE_FEED), backfill=12)],
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[App]:
    application = build_app(settings)
    upgrade(application.engine)
    yield application
    application.engine.dispose()
