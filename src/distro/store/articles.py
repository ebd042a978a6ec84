"""Article rows: stored once per GUID or URL, updated when edited, selected for digests and posts.

:data:`FRESH` is the predicate every selection for sending adds: back catalogue recorded on a source's
first poll is seen, never sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from distro.db import session_scope
from distro.models import Article, Digest

FRESH = col(Article.backlog).is_(False)
_PAGE = 500  # values per IN (...) list
_INSERT_PAGE = 1000  # rows per executemany: bounds one statement's parameters, not the transaction


def matching(session: Session, guids: Sequence[str], urls: Sequence[str]) -> list[Article]:
    """The stored articles whose GUID or URL is among these, a page of each at a time."""
    found: list[Article] = []
    for start in range(0, max(len(urls), len(guids)), _PAGE):
        condition = sa.or_(
            col(Article.guid).in_(guids[start : start + _PAGE]),
            col(Article.url).in_(urls[start : start + _PAGE]),
        )
        found += session.exec(select(Article).where(condition))
    return found


def insert_many(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert new article rows (column values by name) in order, in the session's transaction.

    A Core executemany per page: the driver runs it as one prepared statement, without building an ORM
    object per row. The session is flushed first so ORM changes pending before it keep their order.
    """
    if not rows:
        return
    session.flush()
    connection = session.connection()  # Core, not the ORM's bulk path: no per-row bookkeeping
    for start in range(0, len(rows), _INSERT_PAGE):
        connection.execute(sa.insert(Article), list(rows[start : start + _INSERT_PAGE]))


def fresh_since(engine: Engine, since: datetime) -> list[Article]:
    """Articles first seen after ``since`` that may be sent, by publication time (social planning)."""
    query = select(Article).where(col(Article.first_seen_at) > since, FRESH)
    with session_scope(engine) as session:
        return list(session.exec(query.order_by(col(Article.published_at), col(Article.id))))


def counts_by_source(engine: Engine) -> dict[int | None, int]:
    """How many articles each source id has stored."""
    query = sa.select(col(Article.source_id), sa.func.count()).group_by(col(Article.source_id))
    with engine.connect() as connection:
        return {source_id: int(count) for source_id, count in connection.execute(query)}


def newest(engine: Engine, most: int) -> list[tuple[Article, datetime]]:
    """The ``most`` newest articles with when they were published (or else first seen), newest first."""
    published = sa.func.coalesce(col(Article.published_at), col(Article.first_seen_at)).label("published")
    query = select(Article, published).order_by(published.desc(), col(Article.id).desc()).limit(most)
    with session_scope(engine) as session:
        return [(article, when) for article, when in session.exec(query)]


def by_publication(engine: Engine, most: int) -> list[Article]:
    """The ``most`` articles published last, newest first (as the database orders an unknown date)."""
    query = select(Article).order_by(col(Article.published_at).desc()).limit(most)
    with session_scope(engine) as session:
        return list(session.exec(query))


def latest_edition(engine: Engine, most: int) -> list[Article]:
    """The first ``most`` articles of the newest edition, in its order (a welcome email's stories)."""
    with session_scope(engine) as session:
        digest = session.exec(select(Digest).order_by(col(Digest.created_at).desc())).first()
        ids = list(digest.article_ids[:most]) if digest else []
        found = {a.id: a for a in session.exec(select(Article).where(col(Article.id).in_(ids)))}
    return [article for i in ids if (article := found.get(i)) is not None]


def by_ids(engine: Engine, ids: Sequence[int]) -> dict[int, Article]:
    """Articles by id (detached), for the posts of one claimed batch."""
    if not ids:
        return {}
    with Session(engine, expire_on_commit=False) as session:
        return {a.id or 0: a for a in session.exec(select(Article).where(col(Article.id).in_(list(ids))))}
