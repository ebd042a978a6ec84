"""Sources added on the desk: the fields of a ``[[sources]]`` entry, kept in the database.

They are polled beside the TOML file's sources (:mod:`distro.services.source_list`); their poll state
(last poll, validators, last error, next poll) lives on their :class:`~distro.models.Source` row like any
other source's. Credential headers are never stored here: only the TOML file and DISTRO_SOURCE_HEADERS give
those, so no secret sits in this table in clear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from distro.models.columns import UTCDateTime, utcnow


class DeskSource(SQLModel, table=True):
    __tablename__ = "desk_source"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=sa.String(200), unique=True)
    url: str = Field(sa_type=sa.Text)
    kind: str = Field(default="feed", sa_type=sa.String(20))  # feed, wordpress, page
    user_agent: str | None = Field(default=None, sa_type=sa.Text)
    headers: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)  # never credential headers
    timeout: float = 20.0
    max_bytes: int = 20 * 1024 * 1024
    backfill: int = 0
    # Honoured only while the operator allows it (web.desk_private_sources): SSRF protection stays on.
    allow_private_addresses: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    paused: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_by: str = Field(default="", sa_type=sa.String(320))  # an activity actor: "editor:<email>"
