"""Tracked links and what was counted on them: an edition's link table, link clicks and pixel hits.

Writes are one transaction each on the engine: a click is stored (and committed) before the burst check
reads the visitor's recent hits, so of several scanner requests racing each other the last one to check
sees them all (:func:`distro.services.clicks.record_click`). Counts are of ``human`` rows only; the other
kinds are kept so that the rules can be seen at work (and a burst can discount hits stored before it).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from distro.db import is_postgres, session_scope
from distro.models import ClickKind, Digest, DigestLink, LinkClick, OpenHit, SocialPost
from distro.store import table

L, C, H = table(DigestLink), table(LinkClick), table(OpenHit)


@dataclass(frozen=True, slots=True)
class Counted:
    """Human hits and distinct human visitors."""

    total: int
    unique: int


# -- an edition's links ------------------------------------------------------------------------------------


def links_of(engine: Engine, edition: str) -> list[DigestLink]:
    """The edition's links in their order (every variant's: one table per edition)."""
    with session_scope(engine) as session:
        query = select(DigestLink).where(col(DigestLink.edition) == edition)
        return list(session.exec(query.order_by(col(DigestLink.position))))


def add_links(engine: Engine, links: Sequence[DigestLink]) -> list[DigestLink]:
    """Insert ``links``; a position the edition already has keeps its URL (a number never changes its
    target). Returns the edition's links as stored, for the caller to check it got the numbers it used."""
    if not links:
        return []
    rows = [link.model_dump(exclude={"id"}) for link in links]
    insert = postgresql.insert if is_postgres(engine) else sqlite.insert
    with engine.begin() as connection:
        statement = insert(DigestLink).values(rows)
        connection.execute(statement.on_conflict_do_nothing(index_elements=["edition", "position"]))
    return links_of(engine, links[0].edition)


def link_at(engine: Engine, edition: str, position: int) -> DigestLink | None:
    with session_scope(engine) as session:
        query = select(DigestLink).where(
            col(DigestLink.edition) == edition, col(DigestLink.position) == position
        )
        return session.exec(query).first()


def link_count(engine: Engine, edition: str) -> int:
    with engine.connect() as connection:
        query = sa.select(sa.func.count()).select_from(L).where(L.c.edition == edition)
        return int(connection.execute(query).scalar_one())


def has_social_post(engine: Engine, article_id: int, platform: str) -> bool:
    """Whether the article was planned for ``platform``: only then is its tracked social link ours."""
    query = sa.select(col(SocialPost.id)).where(
        col(SocialPost.article_id) == article_id, col(SocialPost.platform) == platform
    )
    with engine.connect() as connection:
        return connection.execute(query.limit(1)).first() is not None


# -- hits --------------------------------------------------------------------------------------------------


def add_click(engine: Engine, click: LinkClick) -> None:
    with session_scope(engine) as session:
        session.add(click)


def add_open(engine: Engine, hit: OpenHit) -> None:
    with session_scope(engine) as session:
        session.add(hit)


def distinct_links_since(engine: Engine, visitor: str, since: datetime) -> int:
    """How many distinct edition links ``visitor`` fetched since ``since``, whatever the kind of hit."""
    query = sa.select(sa.func.count(sa.distinct(C.c.link_id))).where(
        C.c.visitor == visitor, C.c.clicked_at >= since, C.c.link_id.is_not(None)
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def mark_burst(engine: Engine, visitor: str, since: datetime) -> int:
    """Discount ``visitor``'s human hits since ``since`` as a burst; how many changed."""
    statement = (
        sa.update(LinkClick)
        .where(C.c.visitor == visitor, C.c.clicked_at >= since, C.c.kind == str(ClickKind.HUMAN))
        .values(kind=str(ClickKind.BURST))
    )
    with engine.begin() as connection:
        return connection.execute(statement).rowcount


# -- counts for the report ---------------------------------------------------------------------------------


def edition_of(engine: Engine, digest_id: int) -> tuple[str, list[int]] | None:
    """The slug and story ids of edition ``digest_id``, if it exists."""
    query = sa.select(col(Digest.slug), col(Digest.article_ids)).where(col(Digest.id) == digest_id)
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else (str(row[0]), [int(i) for i in row[1] or ()])


def slugs_of(engine: Engine, digest_ids: Collection[int]) -> dict[int, str]:
    digests = table(Digest)
    query = sa.select(digests.c.id, digests.c.slug).where(digests.c.id.in_(list(digest_ids)))
    with engine.connect() as connection:
        return {int(row[0]): str(row[1]) for row in connection.execute(query)}


_HUMAN = C.c.kind == str(ClickKind.HUMAN)


def link_counts(engine: Engine, edition: str) -> list[tuple[DigestLink, Counted]]:
    """Each link of the edition in order, with its human clicks and distinct human clickers."""
    joined = L.outerjoin(C, sa.and_(C.c.link_id == L.c.id, _HUMAN))
    query = (
        sa.select(L.c.id, sa.func.count(C.c.id), sa.func.count(sa.distinct(C.c.visitor)))
        .select_from(joined)
        .where(L.c.edition == edition)
        .group_by(L.c.id)
    )
    with engine.connect() as connection:
        counts = {row[0]: Counted(int(row[1]), int(row[2])) for row in connection.execute(query)}
    return [(link, counts.get(link.id or 0, Counted(0, 0))) for link in links_of(engine, edition)]


def edition_counts(engine: Engine, editions: Collection[str]) -> dict[str, dict[str, Counted]]:
    """Per edition, per kind of hit: hits and distinct visitors (unique clickers of the whole edition)."""
    joined = C.join(L, L.c.id == C.c.link_id)
    query = (
        sa.select(L.c.edition, C.c.kind, sa.func.count(C.c.id), sa.func.count(sa.distinct(C.c.visitor)))
        .select_from(joined)
        .where(L.c.edition.in_(list(editions)))
        .group_by(L.c.edition, C.c.kind)
    )
    found: dict[str, dict[str, Counted]] = {edition: {} for edition in editions}
    with engine.connect() as connection:
        for edition, kind, total, unique in connection.execute(query):
            found[edition][str(kind)] = Counted(int(total), int(unique))
    return found


def open_counts(engine: Engine, edition: str) -> dict[str, Counted]:
    """Per kind of pixel hit (human, machine, head): hits and distinct visitors."""
    query = (
        sa.select(H.c.kind, sa.func.count(H.c.id), sa.func.count(sa.distinct(H.c.visitor)))
        .where(H.c.edition == edition)
        .group_by(H.c.kind)
    )
    with engine.connect() as connection:
        return {
            str(kind): Counted(int(total), int(unique)) for kind, total, unique in connection.execute(query)
        }


def social_counts(engine: Engine, article_ids: Collection[int]) -> dict[str, Counted]:
    """Per platform, human clicks on these articles' social links and distinct clickers (per post)."""
    query = (
        sa.select(C.c.platform, sa.func.count(C.c.id), sa.func.count(sa.distinct(C.c.visitor)))
        .where(C.c.article_id.in_(list(article_ids)), C.c.platform.is_not(None), _HUMAN)
        .group_by(C.c.platform)
    )
    with engine.connect() as connection:
        rows = connection.execute(query)
        return {str(platform): Counted(int(total), int(unique)) for platform, total, unique in rows}


# -- a reader's rows (tracking.per_reader only) ------------------------------------------------------------


def of_reader(session: Session, subscriber_id: int) -> tuple[list[LinkClick], list[OpenHit]]:
    clicks = session.exec(select(LinkClick).where(col(LinkClick.subscriber_id) == subscriber_id))
    opens = session.exec(select(OpenHit).where(col(OpenHit.subscriber_id) == subscriber_id))
    return list(clicks), list(opens)


def delete_for(session: Session, subscriber_id: int) -> int:
    """Delete every hit that names the subscriber; how many went."""
    connection = session.connection()
    gone = connection.execute(sa.delete(LinkClick).where(C.c.subscriber_id == subscriber_id)).rowcount
    gone += connection.execute(sa.delete(OpenHit).where(H.c.subscriber_id == subscriber_id)).rowcount
    return int(gone)
