"""Article rows: stored once per GUID or URL, updated when edited, selected for digests and posts.

:data:`FRESH` is the predicate every selection for sending adds: back catalogue recorded on a source's
first poll is seen, never sent.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from distro.db import session_scope
from distro.models import Article, Digest

FRESH = col(Article.backlog).is_(False)


def latest_edition(engine: Engine, most: int) -> list[Article]:
    """The first ``most`` articles of the newest edition, in its order (a welcome email's stories)."""
    with session_scope(engine) as session:
        digest = session.exec(select(Digest).order_by(col(Digest.created_at).desc())).first()
        ids = list(digest.article_ids[:most]) if digest else []
        found = {a.id: a for a in session.exec(select(Article).where(col(Article.id).in_(ids)))}
    return [article for i in ids if (article := found.get(i)) is not None]
