"""Unsubscribes per edition: rows without a reader in them, counted for the edition's report."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from distro.models import UnsubscribeEvent
from distro.store import table

U = table(UnsubscribeEvent)


def record(engine: Engine, *, edition: str, newsletter: str | None, via: str, at: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(sa.insert(U).values(edition=edition, newsletter=newsletter, via=via, at=at))


def counts(engine: Engine, editions: Collection[str]) -> dict[str, int]:
    """How many readers left through each of these editions' links."""
    if not editions:
        return {}
    query = (
        sa.select(U.c.edition, sa.func.count()).where(U.c.edition.in_(list(editions))).group_by(U.c.edition)
    )
    with engine.connect() as connection:
        return {str(edition): int(n) for edition, n in connection.execute(query)}
