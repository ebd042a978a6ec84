"""Keyset pages for the REST API's lists: rows with ids above a cursor, in id order, ``limit`` at most.

A page is one indexed range read on the primary key, however deep the list (an offset would read every row
before it). Each function is one transaction and returns detached rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row
from sqlmodel import col, select

from distro.db import session_scope
from distro.models import Article, Delivery, Digest, Subscriber, Suppression
from distro.store import subscribers as stored_subscribers
from distro.store import suppressions, table
from distro.store.delivery_log import LogFilter

_D, _G = table(Delivery), table(Digest)


def articles(engine: Engine, *, after: int, limit: int) -> list[Article]:
    query = select(Article).where(col(Article.id) > after).order_by(col(Article.id)).limit(limit)
    with session_scope(engine) as session:
        return list(session.exec(query))


def article(engine: Engine, article_id: int) -> Article | None:
    with session_scope(engine) as session:
        return session.get(Article, article_id)


def editions(
    engine: Engine, *, after: int, limit: int, newsletter: str | None, status: str | None
) -> list[Digest]:
    query = select(Digest).where(col(Digest.id) > after)
    if newsletter:
        query = query.where(col(Digest.newsletter) == newsletter)
    if status:
        query = query.where(col(Digest.status) == status)
    with session_scope(engine) as session:
        return list(session.exec(query.order_by(col(Digest.id)).limit(limit)))


def subscribers(
    engine: Engine,
    *,
    after: int,
    limit: int,
    status: str | None,
    address: str | None,
    paused_at: datetime | None,
) -> list[tuple[Subscriber, str | None]]:
    """Subscribers in id order with their suppression reason (None: not suppressed). ``address`` matches
    part of the address in any case; ``paused_at``: only those paused at that time."""
    query = select(Subscriber).where(col(Subscriber.id) > after)
    if status:
        query = query.where(col(Subscriber.status) == status)
    if address:
        lowered = sa.func.lower(col(Subscriber.email))
        query = query.where(lowered.contains(address.lower(), autoescape=True))
    if paused_at is not None:
        query = query.where(col(Subscriber.paused_until) > paused_at)
    with session_scope(engine) as session:
        page = list(session.exec(query.order_by(col(Subscriber.id)).limit(limit)))
        reasons = suppressions.reasons(session.connection(), (s.email for s in page))
    return [(s, reasons.get(suppressions.key(s.email))) for s in page]


def suppressed(engine: Engine, *, after: int, limit: int, reason: str | None) -> list[Suppression]:
    query = select(Suppression).where(col(Suppression.id) > after)
    if reason:
        query = query.where(col(Suppression.reason) == reason)
    with session_scope(engine) as session:
        return list(session.exec(query.order_by(col(Suppression.id)).limit(limit)))


def deliveries(engine: Engine, wanted: LogFilter, *, after: int, limit: int) -> list[Row[Any]]:
    """Deliveries matching ``wanted`` (every column and the digest's ``slug``) in id order."""
    query = sa.select(_D, _G.c.slug).select_from(_D.outerjoin(_G, _G.c.id == _D.c.digest_id))
    query = query.where(_D.c.id > after)
    if wanted.channel:
        query = query.where(_D.c.channel == wanted.channel)
    if wanted.status:
        query = query.where(_D.c.status == wanted.status)
    if wanted.digest:
        query = query.where(_G.c.slug == wanted.digest)
    if wanted.address:
        query = query.where(sa.func.lower(_D.c.recipient).contains(wanted.address.lower(), autoescape=True))
    with engine.connect() as connection:
        return list(connection.execute(query.order_by(_D.c.id).limit(limit)))


def of_subscriber(engine: Engine, subscriber_id: int, *, most: int) -> list[Row[Any]]:
    """The subscriber's ``most`` latest deliveries (every column and the digest's ``slug``), newest first."""
    query = sa.select(_D, _G.c.slug).select_from(_D.outerjoin(_G, _G.c.id == _D.c.digest_id))
    query = query.where(_D.c.subscriber_id == subscriber_id).order_by(_D.c.id.desc()).limit(most)
    with engine.connect() as connection:
        return list(connection.execute(query))


def article_at(engine: Engine, url: str) -> Article | None:
    with session_scope(engine) as session:
        return session.exec(select(Article).where(col(Article.url) == url)).first()


def subscriber_id_at(engine: Engine, address: str) -> int | None:
    """The id of the subscriber with this (normalised) address, in any case."""
    with session_scope(engine) as session:
        found = stored_subscribers.by_email(session, address)
        return found.id if found is not None else None


def suppression_of(engine: Engine, email: str) -> Suppression | None:
    with session_scope(engine) as session:
        return suppressions.entry(session, email)
