"""Channel pauses: a provider stopped an account (or a channel) until a reset time, for every worker.

Written in the same transaction as the outcome that carried the provider's answer (:func:`pause_channel`),
read before each claim (:func:`paused_until`), so no worker process keeps posting into a closed window.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from distro.models import ChannelPause, utcnow
from distro.store import table

P = table(ChannelPause)


def paused_until(engine: Engine, channel: str, *, now: datetime | None = None) -> ChannelPause | None:
    """The provider's pause on ``channel`` (an account, for social) if it still runs, else None."""
    now = now or utcnow()
    with engine.connect() as connection:
        row = connection.execute(sa.select(P).where(P.c.channel == channel, P.c.until > now)).first()
    return None if row is None else ChannelPause(**row._mapping)


def running(engine: Engine, *, now: datetime | None = None) -> dict[str, ChannelPause]:
    """Every pause still running, by channel (for the desk and ``distro accounts list``)."""
    now = now or utcnow()
    with engine.connect() as connection:
        rows = connection.execute(sa.select(P).where(P.c.until > now)).all()
    return {row.channel: ChannelPause(**row._mapping) for row in rows}


def pause(engine: Engine, channel: str, until: datetime, reason: str, *, now: datetime | None = None) -> None:
    """:func:`pause_channel` in a transaction of its own, for a pause no outcome carries (a token refresh)."""
    with engine.begin() as connection:
        pause_channel(connection, channel, until, reason, now or utcnow())


def pause_channel(
    connection: sa.Connection, channel: str, until: datetime, reason: str, now: datetime
) -> None:
    """Upsert a pause, never shortening one already longer (two workers told different resets)."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    values = {"channel": channel, "until": until, "reason": reason, "updated_at": now}
    statement = insert(P).values(values)
    longer = sa.case((statement.excluded.until > P.c.until, statement.excluded.until), else_=P.c.until)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["channel"],
            set_={"until": longer, "reason": statement.excluded.reason, "updated_at": now},
        )
    )
