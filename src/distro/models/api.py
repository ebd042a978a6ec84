"""Tokens of the REST API (``/api/v1``): who may call it, with which scope (issue 20, item 6).

Only the SHA-256 of a token is stored (the token is 256 random bits, so a hash is as good as a password
hash and can be looked up by value on every request); the token itself is printed once by ``distro
api-tokens create`` and never again. A revoked token keeps its row, so the activity log's ``api:<name>``
still names something and the name is not silently reused.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from distro.models.columns import UTCDateTime, _when, utcnow


class ApiToken(SQLModel, table=True):
    __tablename__ = "apitoken"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=sa.String(80), unique=True)
    scope: str = Field(sa_type=sa.String(10))  # "read" or "write"
    token_hash: str = Field(sa_type=sa.String(64), unique=True)  # SHA-256 hex of the token
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_used_at: datetime | None = _when()
    revoked_at: datetime | None = _when()
