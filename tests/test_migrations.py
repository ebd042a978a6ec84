"""Alembic builds exactly the schema the models describe, on both backends; re-running is safe."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from distro.db import current_revisions, head_revisions, make_engine, upgrade


def test_upgrade_matches_models_and_is_repeatable(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        assert compare_metadata(context, SQLModel.metadata) == []
        tables = set(sa.inspect(connection).get_table_names())
    assert {
        "source",
        "article",
        "subscriber",
        "digest",
        "socialpost",
        "delivery",
        "deliveryattempt",
    } <= tables
    assert current_revisions(engine) == head_revisions()
    engine.dispose()
