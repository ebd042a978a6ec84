"""Social accounts' stored rows (:class:`~distro.models.SocialAccount`): a sealed token and the account's
health, one row per (platform, name), written on first need."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from distro.models import SocialAccount


def _the(platform: str, name: str) -> sa.ColumnElement[bool]:
    return sa.and_(col(SocialAccount.platform) == platform, col(SocialAccount.name) == name)


def save(engine: Engine, platform: str, name: str, values: dict[str, Any]) -> None:
    """Update the account's row with ``values``, creating it when there is none."""
    with engine.begin() as connection:
        updated = connection.execute(sa.update(SocialAccount).where(_the(platform, name)).values(**values))
        if not updated.rowcount:
            connection.execute(sa.insert(SocialAccount).values(platform=platform, name=name, **values))


def sealed_token(engine: Engine, platform: str, name: str) -> str | None:
    """The account's stored token, still sealed (Fernet), if any."""
    query = sa.select(col(SocialAccount.token)).where(_the(platform, name))
    with engine.connect() as connection:
        return connection.execute(query).scalar()


def status_of(engine: Engine, platform: str, name: str) -> str | None:
    query = sa.select(col(SocialAccount.status)).where(_the(platform, name))
    with engine.connect() as connection:
        return connection.execute(query).scalar()


def every(engine: Engine) -> dict[tuple[str, str], Any]:
    """Every stored row's platform, name, status, token, expires_at, refresh_expires_at and last_error, by
    (platform, name)."""
    query = sa.select(
        col(SocialAccount.platform),
        col(SocialAccount.name),
        col(SocialAccount.status),
        col(SocialAccount.token),
        col(SocialAccount.expires_at),
        col(SocialAccount.refresh_expires_at),
        col(SocialAccount.last_error),
    )
    with engine.connect() as connection:
        return {(row.platform, row.name): row for row in connection.execute(query)}
