"""What is counted about readers: an edition's tracked links, the hits on them and on the open pixel.

Nothing here holds an address, an IP or a user agent: a hit names its visitor by a keyed hash that rotates
(:func:`distro.services.clicks.visitor_hash`), enough to count unique clickers per edition and nothing
that links two periods or names a person. ``subscriber_id`` is filled only with ``tracking.per_reader``,
and forgetting a reader deletes those rows. Every hit is stored with its kind, and only ``human`` ones
count, so a burst discovered later can discount hits already stored.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from distro.models.columns import StatusString, UTCDateTime, utcnow


class ClickKind(StrEnum):
    HUMAN = "human"  # counted
    HEAD = "head"  # a HEAD request: a checker or scanner probing
    SCANNER = "scanner"  # a known scanner, proxy or bot user agent (distro.scanners)
    BURST = "burst"  # one visitor fetched the edition's links within seconds: a scanner after all


class OpenKind(StrEnum):
    HUMAN = "human"  # a mail client showing the message (as far as anyone can tell)
    MACHINE = "machine"  # Apple's Mail Privacy Protection, a mailbox provider's image proxy, a scanner
    HEAD = "head"


class DigestLink(SQLModel, table=True):
    """One link of an edition, numbered from 1: what ``/r/<token>`` may redirect to, and nothing else.

    Keyed by the edition's slug because links are numbered while the edition is composed, before its row
    exists; a number never changes its URL once given, so every token ever sent keeps its target.
    """

    __table_args__ = (sa.UniqueConstraint("edition", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    edition: str = Field(sa_type=sa.String(100), index=True)  # Digest.slug
    position: int
    url: str = Field(sa_type=sa.Text)  # as the reader is sent there: UTM-tagged
    title: str | None = Field(default=None, sa_type=sa.Text)  # the story's title, else the link's text
    article_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class LinkClick(SQLModel, table=True):
    """One request for a tracked link: an edition's link (``link_id``) or a social post's (``article_id``
    and ``platform``)."""

    __table_args__ = (sa.Index("ix_linkclick_visitor_at", "visitor", "clicked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    link_id: int | None = Field(default=None, foreign_key="digestlink.id", index=True)
    article_id: int | None = Field(default=None, index=True)
    platform: str | None = Field(default=None, sa_type=sa.String(20))
    visitor: str = Field(sa_type=sa.String(32))  # truncated HMAC-SHA256 of (IP, agent, edition), rotating
    kind: ClickKind = Field(default=ClickKind.HUMAN, sa_type=StatusString(ClickKind, 10))
    clicked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    subscriber_id: int | None = Field(default=None, index=True)  # only with tracking.per_reader


class OpenHit(SQLModel, table=True):
    """One request for an edition's open pixel (``tracking.opens``)."""

    id: int | None = Field(default=None, primary_key=True)
    edition: str = Field(sa_type=sa.String(100), index=True)  # Digest.slug
    visitor: str = Field(sa_type=sa.String(32))
    kind: OpenKind = Field(default=OpenKind.HUMAN, sa_type=StatusString(OpenKind, 10))
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    subscriber_id: int | None = Field(default=None, index=True)  # only with tracking.per_reader
