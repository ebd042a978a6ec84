"""The delivery log as editors read it: rows matching one :class:`LogFilter`, sends and failures per time
bucket for the chart, the filters' choices, and what became of an edition's deliveries.

The chart's counts are grouped in SQL per quarter-hour of UTC (seconds since the epoch of the stored naive
UTC times, divided by 900), so it reads at most 96 rows a day per status however many deliveries there are,
and the service re-buckets them into the desk's local days or hours: every zone's offset is a whole number
of quarter-hours, so no local day or hour splits a group. A delivery's time is when it was sent, or else when
it last changed (its last attempt, or its queueing).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row

from distro.db import is_postgres
from distro.models import (
    Article,
    AttemptOutcome,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Digest,
    SocialPost,
)
from distro.store import table

_D, _A, _G = table(Delivery), table(DeliveryAttempt), table(Digest)
_P, _R = table(SocialPost), table(Article)
# When the delivery went out, or else when it last changed (a failure is final when recorded).
delivery_time = sa.func.coalesce(_D.c.sent_at, _D.c.updated_at)
QUARTER = 900  # seconds in one group of the chart's counts


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Which deliveries to show; None means any. ``address`` matches part of the recipient, in any case."""

    digest: str | None = None  # a digest slug
    channel: str | None = None
    status: str | None = None
    address: str | None = None

    def params(self) -> dict[str, str]:
        """The filters that are set, as query parameters (for links that keep them)."""
        return {name: value for name, value in asdict(self).items() if value}


def _where(query: sa.Select[Any], wanted: LogFilter) -> sa.Select[Any]:
    if wanted.channel:
        query = query.where(_D.c.channel == wanted.channel)
    if wanted.status:
        query = query.where(_D.c.status == wanted.status)
    if wanted.digest:
        query = query.where(_D.c.digest_id.in_(sa.select(_G.c.id).where(_G.c.slug == wanted.digest)))
    if wanted.address:
        query = query.where(sa.func.lower(_D.c.recipient).contains(wanted.address.lower(), autoescape=True))
    return query


def entries(
    engine: Engine, wanted: LogFilter, *, limit: int, offset: int, newest_first: bool
) -> list[Row[Any]]:
    """Matching deliveries (every column, with the digest's ``slug`` and a post's article ``title``), in id
    order (``newest_first``: most recently queued first)."""
    joined = (
        _D.outerjoin(_G, _G.c.id == _D.c.digest_id)
        .outerjoin(_P, _P.c.id == _D.c.social_post_id)
        .outerjoin(_R, _R.c.id == _P.c.article_id)
    )
    query = sa.select(_D, _G.c.slug, _R.c.title).select_from(joined)
    query = query.order_by(_D.c.id.desc() if newest_first else _D.c.id).limit(limit).offset(offset)
    with engine.connect() as connection:
        return list(connection.execute(_where(query, wanted)))


def _quarter_of(engine: Engine) -> sa.ColumnElement[int]:
    """The quarter-hour (since the epoch, UTC) of a delivery's time."""
    # Literal constants (not bind parameters), so GROUP BY repeats exactly the selected expression.
    quarter = sa.literal_column(str(QUARTER), sa.Integer)
    if is_postgres(engine):  # the epoch of a timestamp without time zone reads it as UTC
        epoch = sa.extract("epoch", delivery_time)
        return sa.cast(sa.func.floor(epoch / quarter), sa.BigInteger)
    seconds = sa.cast(sa.func.strftime(sa.literal_column("'%s'"), delivery_time), sa.Integer)
    return seconds // quarter


def _outcomes_since(since: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(_D.c.status.in_([DeliveryStatus.SENT, DeliveryStatus.FAILED]), delivery_time >= since)


def outcome_span(engine: Engine, wanted: LogFilter, since: datetime) -> tuple[datetime, datetime] | None:
    """The first and last time of the matching rows sent or failed since ``since`` (None: there are none)."""
    span = sa.select(sa.func.min(delivery_time), sa.func.max(delivery_time)).where(_outcomes_since(since))
    with engine.connect() as connection:
        first, last = connection.execute(_where(span, wanted)).one()
    return None if first is None or last is None else (first, last)


def outcomes_per_quarter(
    engine: Engine, wanted: LogFilter, since: datetime
) -> list[tuple[datetime, str, int]]:
    """(start of the quarter-hour, aware UTC; status; count) of the matching rows sent or failed since
    ``since``."""
    bucket = _quarter_of(engine).label("bucket")
    grouped = sa.select(bucket, _D.c.status, sa.func.count()).where(_outcomes_since(since))
    grouped = _where(grouped.group_by(bucket, _D.c.status), wanted)
    with engine.connect() as connection:
        return [
            (datetime.fromtimestamp(int(quarter) * QUARTER, UTC), status, int(count))
            for quarter, status, count in connection.execute(grouped)
        ]


def digest_slugs(engine: Engine, most: int) -> list[str]:
    """The newest ``most`` digest slugs, newest first (the digest filter's choices)."""
    with engine.connect() as connection:
        return list(connection.execute(sa.select(_G.c.slug).order_by(_G.c.id.desc()).limit(most)).scalars())


def digest_exists(engine: Engine, slug: str) -> bool:
    with engine.connect() as connection:
        return connection.execute(sa.select(_G.c.id).where(_G.c.slug == slug)).first() is not None


def channels(engine: Engine) -> list[str]:
    """Every channel that ever had a delivery, by name."""
    with engine.connect() as connection:
        return list(connection.execute(sa.select(_D.c.channel).distinct().order_by(_D.c.channel)).scalars())


# -- an edition's deliveries, for the dashboard -----------------------------------------------------------


def last_edition(engine: Engine, newsletter: str) -> Row[Any] | None:
    """The newsletter's latest edition (by when it was queued, else composed), every column."""
    latest = sa.select(_G).where(_G.c.newsletter == newsletter)
    latest = latest.order_by(sa.func.coalesce(_G.c.queued_at, _G.c.created_at).desc(), _G.c.id.desc())
    with engine.connect() as connection:
        return connection.execute(latest.limit(1)).first()


def edition_outcomes(engine: Engine, digest_id: int, *, besides_prefix: str) -> dict[str, tuple[int, int]]:
    """For an edition's deliveries (but those whose key starts with ``besides_prefix``: test copies), by
    status: how many, and how many of them had a hard bounce in their attempt log."""
    bounce = sa.exists().where(_A.c.delivery_id == _D.c.id, _A.c.outcome == AttemptOutcome.HARD_BOUNCE)
    query = (
        sa.select(_D.c.status, sa.func.count(), sa.func.sum(sa.case((bounce, 1), else_=0)))
        .where(_D.c.digest_id == digest_id, sa.not_(_D.c.key.startswith(besides_prefix)))
        .group_by(_D.c.status)
    )
    with engine.connect() as connection:
        return {
            status: (int(count), int(bounced or 0)) for status, count, bounced in connection.execute(query)
        }
