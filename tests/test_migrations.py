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


def test_digests_from_before_newsletters_belong_to_their_prefix(database_url: str) -> None:
    """0011 names the newsletter of every digest stored before it, from the slug's prefix."""
    from alembic import command
    from alembic.config import Config

    from distro.db import MIGRATIONS

    engine = make_engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        for slug in ("weekly-2026-W47", "monday_mail-2025-W01"):
            connection.execute(
                sa.text(
                    "INSERT INTO digest (slug, status, subject, window_start, window_end, article_ids, html, "
                    "text, message_template, recipients, created_at) VALUES (:slug, 'queued', 's', "
                    ":t, :t, '[]', '', '', '', 0, :t)"
                ),
                {"slug": slug, "t": "2026-11-20 07:00:00"},
            )
    upgrade(engine)
    with engine.connect() as connection:
        rows = dict(connection.execute(sa.text("SELECT slug, newsletter FROM digest")).all())
    engine.dispose()
    assert rows == {"weekly-2026-W47": "weekly", "monday_mail-2025-W01": "monday_mail"}
