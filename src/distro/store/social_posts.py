"""Social posts (:class:`~distro.models.SocialPost`): one per (article, platform, account), with the text
and request body it sends, joined to its delivery row and article for the desk's queue."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, Row
from sqlmodel import Session, col, select

from distro.db import is_postgres
from distro.models import Article, Delivery, DeliveryStatus, SocialPost
from distro.store import table

PostKey = tuple[int, str, str]  # (article id, platform, account): unique


def add_planned(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
    """Insert planned posts (dicts of columns); a post that exists keeps its text (an editor's edit)."""
    insert = postgresql.insert if is_postgres(engine) else sqlite.insert
    statement = insert(SocialPost).values(list(rows))
    with engine.begin() as connection:
        connection.execute(
            statement.on_conflict_do_nothing(index_elements=["article_id", "platform", "account"])
        )


def ids_by_key(engine: Engine, article_ids: Collection[int]) -> dict[PostKey, int]:
    """The ids of these articles' posts, by (article id, platform, account)."""
    query = sa.select(
        col(SocialPost.id), col(SocialPost.article_id), col(SocialPost.platform), col(SocialPost.account)
    )
    with engine.connect() as connection:
        rows = connection.execute(query.where(col(SocialPost.article_id).in_(list(article_ids))))
        return {(article, platform, account): post_id or 0 for post_id, article, platform, account in rows}


def for_edit(
    session: Session, article_id: int, platform: str, account: str | None
) -> list[tuple[SocialPost, Delivery]]:
    """The article's posts on ``platform`` (one account, if given) with their deliveries, locked until the
    transaction ends (PostgreSQL), so no worker claims one while its text changes."""
    query = select(SocialPost, Delivery).join(Delivery, col(Delivery.social_post_id) == col(SocialPost.id))
    query = query.where(col(SocialPost.article_id) == article_id, col(SocialPost.platform) == platform)
    if account:
        query = query.where(col(SocialPost.account) == account)
    return [(post, delivery) for post, delivery in session.exec(query.with_for_update())]


def delivery_ids(engine: Engine, *, article_id: int, platform: str, account: str | None = None) -> list[int]:
    """Delivery ids of an article's posts on ``platform`` (optionally one account), in id order."""
    query = (
        sa.select(col(Delivery.id))
        .join(SocialPost, col(SocialPost.id) == col(Delivery.social_post_id))
        .where(col(SocialPost.article_id) == article_id, col(SocialPost.platform) == platform)
    )
    if account:
        query = query.where(col(SocialPost.account) == account)
    with engine.connect() as connection:
        return [i for i in connection.execute(query.order_by(col(Delivery.id))).scalars() if i is not None]


# -- the desk's queue -------------------------------------------------------------------------------------

_D, _P, _A = table(Delivery), table(SocialPost), table(Article)
_QUEUE_COLUMNS = (
    _D.c.id, _D.c.channel, _D.c.status, _D.c.next_attempt_at, _D.c.attempts, _D.c.last_error,
    _D.c.lease_owner, _D.c.lease_until, _P.c.platform, _P.c.account, _P.c.text, _P.c.body,
    _P.c.article_id, _A.c.title, _A.c.url, _A.c.summary,
)  # fmt: skip


def _queue_query() -> sa.Select[Any]:
    joined = _D.join(_P, _P.c.id == _D.c.social_post_id).join(_A, _A.c.id == _P.c.article_id)
    return sa.select(*_QUEUE_COLUMNS).select_from(joined)


def queue(
    engine: Engine, *, waiting: Collection[DeliveryStatus], failed_since: datetime, most: int
) -> Sequence[Row[Any]]:
    """Posts whose delivery is in ``waiting``, or failed since ``failed_since``, by send time: each row has
    the delivery's state, the post's platform, account, text and body, and the article's title, URL and
    summary."""
    failed = sa.and_(_D.c.status == DeliveryStatus.FAILED, _D.c.updated_at >= failed_since)
    query = _queue_query().where(sa.or_(_D.c.status.in_(list(waiting)), failed))
    with engine.connect() as connection:
        return connection.execute(query.order_by(_D.c.next_attempt_at, _D.c.id).limit(most)).all()


def queued(engine: Engine, delivery_id: int) -> Row[Any] | None:
    """One :func:`queue` row by delivery id, whatever its state; None if it is not a social post."""
    with engine.connect() as connection:
        return connection.execute(_queue_query().where(_D.c.id == delivery_id)).first()


def by_ids(engine: Engine, ids: Collection[int]) -> dict[int, SocialPost]:
    """The posts of one claimed batch, by id (detached)."""
    if not ids:
        return {}
    with Session(engine, expire_on_commit=False) as session:
        return {
            p.id or 0: p for p in session.exec(select(SocialPost).where(col(SocialPost.id).in_(list(ids))))
        }
