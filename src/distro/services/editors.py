"""Editors of the desk: accounts with argon2 password hashes, brute-force lockout, and sessions.

The lockout lives in the database, so it holds across web processes and machines. Sessions are rows keyed
by the SHA-256 of a random cookie token: a copy of the database does not let anyone sign in, and signing
out (or removing an editor) ends a session at once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import delete, select

from distro.app import App
from distro.db import session_scope
from distro.errors import DistroError
from distro.models import Editor, EditorSession, utcnow

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_LOCKOUT = timedelta(days=1)
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the address is unknown, so a wrong address costs the same time as a wrong
    password; made on first use, not at import (a hash costs a quarter second)."""
    return _HASHER.hash(secrets.token_urlsafe(16))


class EditorError(DistroError):
    """An editor account cannot be created or changed as asked."""


class LoginRefused(DistroError):
    """Wrong address or password, or the account is locked; the message never says which of the first two."""


def _normal(email: str) -> str:
    return email.strip().casefold()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise EditorError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise EditorError(f"the password is longer than {MAX_PASSWORD} characters")


def add_editor(app: App, email: str, password: str) -> Editor:
    address = _normal(email)
    if "@" not in address or len(address) > 320:
        raise EditorError(f"{email!r} is not an email address")
    _check_password(password)
    with session_scope(app.engine) as session:
        if session.exec(select(Editor).where(Editor.email == address)).first() is not None:
            raise EditorError(
                f"{address} is already an editor; use `distro editors passwd` to change the password"
            )
        editor = Editor(email=address, password_hash=_HASHER.hash(password))
        session.add(editor)
        session.flush()
        session.refresh(editor)
        session.expunge(editor)
    return editor


def set_password(app: App, email: str, password: str) -> None:
    """New password; every open session of that editor ends and any lockout is lifted."""
    _check_password(password)
    with session_scope(app.engine) as session:
        editor = session.exec(select(Editor).where(Editor.email == _normal(email))).first()
        if editor is None:
            raise EditorError(f"no editor {email!r}")
        editor.password_hash = _HASHER.hash(password)
        editor.failed_logins, editor.locked_until = 0, None
        session.exec(delete(EditorSession).where(EditorSession.editor_id == editor.id))  # type: ignore[call-overload]


def remove_editor(app: App, email: str) -> None:
    with session_scope(app.engine) as session:
        editor = session.exec(select(Editor).where(Editor.email == _normal(email))).first()
        if editor is None:
            raise EditorError(f"no editor {email!r}")
        session.exec(delete(EditorSession).where(EditorSession.editor_id == editor.id))  # type: ignore[call-overload]
        session.delete(editor)


def list_editors(app: App) -> list[Editor]:
    with session_scope(app.engine) as session:
        return list(session.exec(select(Editor).order_by(Editor.email)))


def authenticate(app: App, email: str, password: str, now: datetime | None = None) -> Editor:
    """The editor, or :class:`LoginRefused`. Each wrong password counts towards the lockout."""
    now = now or utcnow()
    web = app.settings.web
    refusal: str | None = None
    with session_scope(app.engine) as session:  # commits the failure count before refusing
        editor = session.exec(select(Editor).where(Editor.email == _normal(email))).first()
        if editor is None:
            with contextlib.suppress(VerificationError):
                _HASHER.verify(_dummy_hash(), password)
            raise LoginRefused("wrong address or password")
        if editor.locked_until is not None and editor.locked_until > now:
            raise LoginRefused(
                f"too many failed sign-ins: locked until {editor.locked_until:%Y-%m-%d %H:%M} UTC"
            )
        try:
            _HASHER.verify(editor.password_hash, password)
        except (VerificationError, InvalidHashError):
            editor.failed_logins += 1
            over = editor.failed_logins - web.login_max_failures
            if over >= 0:
                lock = min(timedelta(minutes=web.login_lockout_minutes) * 2 ** min(over, 16), MAX_LOCKOUT)
                editor.locked_until = now + lock
            refusal = "wrong address or password"
        else:
            if _HASHER.check_needs_rehash(editor.password_hash):
                editor.password_hash = _HASHER.hash(password)
            editor.failed_logins, editor.locked_until, editor.last_login_at = 0, None, now
            session.flush()
            session.refresh(editor)
            session.expunge(editor)
    if refusal is not None:
        raise LoginRefused(refusal)
    return editor


@dataclass(frozen=True, slots=True)
class DeskSession:
    editor_id: int
    email: str
    csrf_token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(app: App, editor: Editor, now: datetime | None = None) -> str:
    """A new session for ``editor``; returns the cookie token (shown once, stored only as a hash)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with session_scope(app.engine) as session:
        session.exec(delete(EditorSession).where(EditorSession.expires_at <= now))  # type: ignore[call-overload]
        session.add(
            EditorSession(
                id=_digest(token),
                editor_id=editor.id or 0,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + timedelta(hours=app.settings.web.session_hours),
            )
        )
    return token


def session_of(app: App, token: str | None, now: datetime | None = None) -> DeskSession | None:
    """The live session the cookie token names, or None (unknown, expired, or the editor was removed)."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    with session_scope(app.engine) as session:
        row = session.get(EditorSession, _digest(token))
        if row is None or row.expires_at <= now:
            return None
        editor = session.get(Editor, row.editor_id)
        if editor is None:
            return None
        return DeskSession(editor_id=editor.id or 0, email=editor.email, csrf_token=row.csrf_token)


def close_session(app: App, token: str | None) -> None:
    if not token:
        return
    with session_scope(app.engine) as session:
        session.exec(delete(EditorSession).where(EditorSession.id == _digest(token)))  # type: ignore[call-overload]
