"""The record of who changed what, from the desk, the command line or the API (issue 21).

Rows are only ever added (:func:`distro.services.activity.record_activity`, in the transaction of the change
it records) and read; nothing on the desk edits or deletes them. ``detail`` is short human text and never
holds a secret, a password or the address of a forgotten reader.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from distro.models.columns import UTCDateTime, utcnow


class Activity(SQLModel, table=True):
    """One change: when, who (``editor:<email>``, ``cli``, ``api:<token>``, ``system``), what was done."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    actor: str = Field(sa_type=sa.String(400))
    action: str = Field(sa_type=sa.String(40))
    subject: str = Field(default="", sa_type=sa.String(200))
    detail: str = Field(default="", sa_type=sa.Text)
