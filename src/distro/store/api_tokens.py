"""API tokens (:class:`~distro.models.ApiToken`): added once by name, found by the hash of the token.

Each function is one transaction and returns detached rows; ``also`` adds the caller's record of the change
(:func:`distro.services.activity.record_activity`) to that same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from distro.db import session_scope
from distro.models import ApiToken

TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per token


def named(engine: Engine, name: str) -> ApiToken | None:
    with session_scope(engine) as session:
        return session.exec(select(ApiToken).where(col(ApiToken.name) == name)).first()


def add(engine: Engine, token: ApiToken, *, also: Callable[[Session], None] | None = None) -> bool:
    """Store a new token; False (and nothing stored) when its name is taken (revoked tokens included)."""
    try:
        with session_scope(engine) as session:
            if session.exec(select(ApiToken.id).where(col(ApiToken.name) == token.name)).first():
                return False
            session.add(token)
            if also is not None:
                also(session)
    except sa.exc.IntegrityError:  # the same name added at the same moment
        return False
    return True


def every(engine: Engine) -> list[ApiToken]:
    with session_scope(engine) as session:
        return list(session.exec(select(ApiToken).order_by(col(ApiToken.name))))


def by_hash(engine: Engine, token_hash: str, *, now: datetime) -> ApiToken | None:
    """The token stored under ``token_hash`` (revoked or not), its ``last_used_at`` moved to ``now`` when
    it is live and was last written over :data:`TOUCH_EVERY` ago (one write a minute, not one a request)."""
    with session_scope(engine) as session:
        token = session.exec(select(ApiToken).where(col(ApiToken.token_hash) == token_hash)).first()
        if token is None or token.revoked_at is not None:
            return token
        if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
            token.last_used_at = now
            session.add(token)
        return token


def revoke(
    engine: Engine, name: str, *, now: datetime, also: Callable[[Session], None] | None = None
) -> bool | None:
    """Revoke the named token; None when there is none, False when it was revoked already."""
    with session_scope(engine) as session:
        token = session.exec(select(ApiToken).where(col(ApiToken.name) == name)).first()
        if token is None:
            return None
        if token.revoked_at is not None:
            return False
        token.revoked_at = now
        session.add(token)
        if also is not None:
            also(session)
        return True
