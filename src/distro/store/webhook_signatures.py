"""CMS webhook signatures already accepted, kept as SHA-256 digests until their window ends (replays)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from distro.db import session_scope
from distro.models import SeenWebhookSignature

PURGE_BATCH = 500  # expired rows deleted per call at most: the cost of a request stays bounded


def remember(engine: Engine, digest: str, *, expires_at: datetime, now: datetime) -> bool:
    """Record a signature's digest until ``expires_at``; False when it was already recorded (a replay).
    The primary key arbitrates two copies arriving at once."""
    expired = (
        sa.select(col(SeenWebhookSignature.digest))
        .where(col(SeenWebhookSignature.expires_at) < now)
        .limit(PURGE_BATCH)
    )
    try:
        with session_scope(engine) as session:
            purge = sa.delete(SeenWebhookSignature)
            session.execute(purge.where(col(SeenWebhookSignature.digest).in_(expired.scalar_subquery())))
            session.add(SeenWebhookSignature(digest=digest, expires_at=expires_at))
    except IntegrityError:
        return False
    return True


def forget(engine: Engine, digest: str) -> None:
    with session_scope(engine) as session:
        session.execute(sa.delete(SeenWebhookSignature).where(col(SeenWebhookSignature.digest) == digest))


def seen(engine: Engine, digest: str, *, now: datetime) -> bool:
    """Whether a digest is recorded and its window has not ended (a replay to refuse)."""
    query = sa.select(col(SeenWebhookSignature.digest)).where(
        col(SeenWebhookSignature.digest) == digest, col(SeenWebhookSignature.expires_at) >= now
    )
    with engine.connect() as connection:
        return connection.execute(query).first() is not None
