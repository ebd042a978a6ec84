"""Tokens of the REST API: made by ``distro api-tokens create``, checked on every ``/api/v1`` request.

A token is ``distro_`` and 43 URL-safe characters (256 random bits). Only its SHA-256 is stored, so a copy
of the database lets nobody call the API, and a request is checked with one indexed lookup (a slow
password hash is for guessable secrets; a token cannot be guessed). ``read`` tokens may call every GET;
``write`` tokens every route. Revoking is immediate: the next request with the token gets 401.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial

from distro.app import App
from distro.db import session_scope
from distro.errors import InvalidInput, NotFound, Refused
from distro.models import ApiToken, utcnow
from distro.services.activity import record_activity
from distro.services.limits import allow
from distro.store import api_tokens

PREFIX = "distro_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
_SHAPE = re.compile(r"distro_[A-Za-z0-9_-]{43}")


class Scope(StrEnum):
    read = "read"
    write = "write"


class TokenRefused(Refused):
    """A missing, unknown or revoked API token (the message never says which of the last two)."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling the API: the token's name (the activity log's ``api:<name>``) and its scope."""

    name: str
    scope: Scope

    @property
    def actor(self) -> str:
        return f"api:{self.name}"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as ``distro api-tokens list`` shows it: never the token, nor its hash."""

    name: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(app: App, name: str, scope: str, *, actor: str) -> str:
    """Store a new token named ``name`` and return it: the only time it is ever shown. ``actor`` (who
    asked) is recorded in the activity log with the token's name and scope, never the token."""
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"bad token name {name!r}: up to 80 letters, digits, '.', '_' or '-', a letter or digit first"
        )
    if scope not in set(Scope):
        raise InvalidInput(f"bad scope {scope!r}: use read or write")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, scope=scope, token_hash=token_hash(token), created_at=utcnow())
    record = partial(
        record_activity, actor=actor, action="apitoken.create", subject=f"api token {name}", detail=scope
    )
    if not api_tokens.add(app.engine, row, also=record):
        raise InvalidInput(f"a token named {name!r} exists already (revoked ones keep their name)")
    return token


def list_tokens(app: App) -> list[TokenInfo]:
    return [
        TokenInfo(t.name, t.scope, t.created_at, t.last_used_at, t.revoked_at)
        for t in api_tokens.every(app.engine)
    ]


def revoke_token(app: App, name: str, *, actor: str) -> bool:
    """Revoke ``name`` at once; False when it was revoked already, NotFound when there is no such token."""
    record = partial(record_activity, actor=actor, action="apitoken.revoke", subject=f"api token {name}")
    changed = api_tokens.revoke(app.engine, name, now=utcnow(), also=record)
    if changed is None:
        raise NotFound(f"no API token named {name!r}; see `distro api-tokens list`")
    return changed


def authenticate(app: App, token: str | None, now: datetime | None = None) -> Caller:
    """The caller a bearer token names; TokenRefused when it is missing, malformed, unknown or revoked."""
    if not token:
        raise TokenRefused("an API token is required: send Authorization: Bearer <token>")
    row = None
    if _SHAPE.fullmatch(token):
        row = api_tokens.by_hash(app.engine, token_hash(token), now=now or utcnow())
    if row is None or row.revoked_at is not None:
        raise TokenRefused("the API token is unknown or revoked")
    return Caller(row.name, Scope(row.scope))


RATE_WINDOW_SECONDS = 60


def within_rate(app: App, caller: Caller, now: datetime | None = None) -> bool:
    """Count one request of ``caller``; False once it is over ``web.api_requests_per_minute`` in the last
    minute (counted in the database, so every web process shares one limit per token)."""
    limit = app.settings.web.api_requests_per_minute
    key = f"api:token:{caller.name}"
    return allow(app.engine, key, limit=limit, window_seconds=RATE_WINDOW_SECONDS, now=now)


def record_write(app: App, caller: Caller, action: str, subject: str = "", detail: str = "") -> None:
    """Record a change made through the API under ``api:<token name>``.

    The use cases the API calls (send_edition, store_pushed, ...) commit their own transactions, shared
    with the CLI and the desk, so the record follows in one of its own right after the change succeeds.
    """
    with session_scope(app.engine) as session:
        record_activity(session, actor=caller.actor, action=action, subject=subject, detail=detail)
