"""Social posts (:class:`~distro.models.SocialPost`): one per (article, platform, account), or one per
written post's key, with the text and request body it sends, joined to its delivery row and article for the
desk's queue."""

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
_D, _P, _A = table(Delivery), table(SocialPost), table(Article)


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
        return {
            (article or 0, platform, account): post_id or 0 for post_id, article, platform, account in rows
        }


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


# -- posts an editor writes ----------------------------------------------------------------------------


def add_written(session: Session, post: dict[str, Any], delivery: dict[str, Any]) -> int:
    """Store a written post and its delivery in the caller's transaction, once per ``custom_key`` (a key
    already used adds nothing); returns the post's id (the existing one's when the key was used)."""
    connection = session.connection()
    insert = postgresql.insert if is_postgres(connection.engine) else sqlite.insert
    connection.execute(insert(SocialPost).values(post).on_conflict_do_nothing(index_elements=["custom_key"]))
    post_id = connection.execute(sa.select(_P.c.id).where(_P.c.custom_key == post["custom_key"])).scalar_one()
    row = {**delivery, "social_post_id": post_id}
    connection.execute(insert(Delivery).values(row).on_conflict_do_nothing(index_elements=["key"]))
    return int(post_id)


def written(session: Session, custom_key: str) -> tuple[SocialPost, Delivery] | None:
    """The written post with this key and its delivery, or None."""
    query = select(SocialPost, Delivery).join(Delivery, col(Delivery.social_post_id) == col(SocialPost.id))
    found = session.exec(query.where(col(SocialPost.custom_key) == custom_key)).first()
    return (found[0], found[1]) if found is not None else None


def for_edit_delivery(session: Session, delivery_id: int) -> tuple[SocialPost, Delivery] | None:
    """One post by its delivery id with the delivery, locked until the transaction ends (PostgreSQL)."""
    query = select(SocialPost, Delivery).join(Delivery, col(Delivery.social_post_id) == col(SocialPost.id))
    found = session.exec(query.where(col(Delivery.id) == delivery_id).with_for_update()).first()
    return (found[0], found[1]) if found is not None else None


# -- the desk's queue -------------------------------------------------------------------------------------

_QUEUE_COLUMNS = (
    _D.c.id, _D.c.channel, _D.c.status, _D.c.next_attempt_at, _D.c.attempts, _D.c.last_error,
    _D.c.lease_owner, _D.c.lease_until, _P.c.platform, _P.c.account, _P.c.text, _P.c.body,
    _P.c.article_id, _P.c.custom_key, _P.c.story_id, _A.c.title, _A.c.url, _A.c.summary,
)  # fmt: skip
Cursor = tuple[datetime, int]  # (next_attempt_at, delivery id): the queue's order


def _queue_query() -> sa.Select[Any]:
    # A written post has no article; a repost shows the story it links to.
    story = sa.func.coalesce(_P.c.article_id, _P.c.story_id)
    joined = _D.join(_P, _P.c.id == _D.c.social_post_id).outerjoin(_A, _A.c.id == story)
    return sa.select(*_QUEUE_COLUMNS).select_from(joined)


def _shown(waiting: Collection[str], failed_since: datetime | None) -> Any:
    """Deliveries in ``waiting``, and failed ones since ``failed_since`` (None: no failed ones)."""
    clauses: list[Any] = [_D.c.status.in_(list(waiting))] if waiting else []
    if failed_since is not None:
        clauses.append(sa.and_(_D.c.status == DeliveryStatus.FAILED, _D.c.updated_at >= failed_since))
    return sa.or_(*clauses) if clauses else sa.false()


def queue(
    engine: Engine,
    *,
    waiting: Collection[str],
    failed_since: datetime | None,
    most: int,
    platform: str | None = None,
    after: Cursor | None = None,
    before: Cursor | None = None,
) -> Sequence[Row[Any]]:
    """Posts whose delivery is in ``waiting``, or failed since ``failed_since``, by send time: each row has
    the delivery's state, the post's platform, account, text and body, and the article's title, URL and
    summary. One keyset page of ``most`` rows: after the cursor ``after``, or the page ending just before
    ``before`` (still in send order); ``platform`` keeps one platform's posts."""
    query = _queue_query().where(_shown(waiting, failed_since))
    if platform:
        query = query.where(_P.c.platform == platform)
    order = (_D.c.next_attempt_at, _D.c.id)
    if before is not None:
        query = query.where(_earlier(before)).order_by(*(c.desc() for c in order))
        with engine.connect() as connection:
            return list(reversed(connection.execute(query.limit(most)).all()))
    if after is not None:
        query = query.where(sa.not_(_earlier(after)), sa.not_(_at(after)))
    with engine.connect() as connection:
        return connection.execute(query.order_by(*order).limit(most)).all()


def _earlier(cursor: Cursor) -> Any:
    at, delivery_id = cursor
    return sa.or_(_D.c.next_attempt_at < at, sa.and_(_D.c.next_attempt_at == at, _D.c.id < delivery_id))


def _at(cursor: Cursor) -> Any:
    return sa.and_(_D.c.next_attempt_at == cursor[0], _D.c.id == cursor[1])


def queue_counts(
    engine: Engine, *, waiting: Collection[str], failed_since: datetime | None
) -> dict[tuple[str, str, str], dict[str, int]]:
    """How many posts of each (platform, account, channel) the queue holds, per status (no filter)."""
    columns = (_P.c.platform, _P.c.account, _D.c.channel, _D.c.status)
    joined = _D.join(_P, _P.c.id == _D.c.social_post_id)
    query = sa.select(*columns, sa.func.count()).select_from(joined).where(_shown(waiting, failed_since))
    found: dict[tuple[str, str, str], dict[str, int]] = {}
    with engine.connect() as connection:
        for platform, account, channel, status, count in connection.execute(query.group_by(*columns)):
            found.setdefault((platform, account, channel), {})[str(status)] = int(count)
    return found


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
