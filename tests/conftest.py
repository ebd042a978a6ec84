"""Shared fixtures. Database tests run on SQLite and on the real PostgreSQL at 127.0.0.1:5432.

A test that needs a system part skips with the reason when the part is missing, except under CI=true,
where a missing part fails the run: CI must never go green by skipping.

No test may depend on the wall-clock date or time of day. A test about an edition, a window, a cron, a
lease or a posting plan lives at a pinned instant (the ``clock`` fixture) and states its expectations
relative to it; ``./scripts/test-clocks`` (libfaketime) runs the suite on other days and in other zones.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from distro.app import App, build_app
from distro.db import make_engine, upgrade
from distro.settings import Settings, SourceSettings
from tests import processes

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_FEED = ROOT / "examples" / "feed.xml"
EXAMPLE_SUBSCRIBERS = ROOT / "examples" / "subscribers.csv"
# The Friday after the example feed's week (its twelve articles are dated 16-22 November 2026): the next
# weekly digest (Mondays, 07:00 London) is Monday 30 November, edition weekly-2026-W49.
FRIDAY = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
PG_URL = os.environ.get("DISTRO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def require(part: str, reason: str) -> None:
    """Skip (locally) or fail (under CI=true) because ``part`` is missing."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{part} is required under CI=true: {reason}", pytrace=False)
    pytest.skip(f"{part} not available: {reason}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clock(instant): the aware instant the clock fixture pins (FRIDAY)")


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Traveller]:
    """Pins the wall clock (``datetime.now``, ``time.time``; not ``time.monotonic``) at one instant for
    the rest of the test: ``FRIDAY``, or the instant of a ``@pytest.mark.clock(...)`` marker.

    It does not tick, so "now" is the same in a fixture that ingests and in the assertions after it; move
    it with ``clock.shift(timedelta(...))`` or ``clock.move_to(when)``. A fixture that ingests, composes,
    plans or queues depends on it so that it runs at that instant too. Subprocesses and the PostgreSQL
    server keep the real clock.
    """
    marker = request.node.get_closest_marker("clock")
    instant = marker.args[0] if marker is not None else FRIDAY
    with time_machine.travel(instant, tick=False) as traveller:
        yield traveller


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


@contextmanager
def postgres_schema() -> Iterator[str]:
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


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


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


@pytest.fixture(autouse=True)
def _no_child_outlives_its_test() -> Iterator[None]:
    yield
    processes.reap()
