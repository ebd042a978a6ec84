"""Editors of the desk: accounts with argon2 password hashes, brute-force lockout, and sessions.

Sign-in lockout, kept in the database so it holds across web processes and machines. Every refusal (unknown
address, wrong password, locked) reads the same and costs the same: one argon2 verify, against a dummy hash
when nothing real is checked. Two locks, both counted *before* the password is checked, in one transaction
that serialises on the editor's row and the client's row (``SELECT ... FOR UPDATE``; SQLite's ``BEGIN
IMMEDIATE``), so N parallel guesses check exactly as many passwords as the limit allows:

- per client and address (:class:`~distro.models.SignInClient`, known and unknown addresses alike): after
  ``web.login_max_failures`` checked attempts without a success, that client's attempts at that address are
  not checked for ``web.login_lockout_minutes``, doubling with each further failure (at most a day);
- per account (``Editor.failed_logins``, the same numbers): the lock stops distributed guessing, yet a
  client that has not tried that address within ``login_lockout_minutes`` still gets one check, so the
  real editor signs in from their own network while a stranger hammers from theirs.

Sessions are rows keyed by the SHA-256 of a random cookie token: a copy of the database does not let anyone
sign in, and signing out (or removing an editor) ends a session at once.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from distro.app import App
from distro.db import session_scope
from distro.errors import InvalidInput, Refused
from distro.models import Editor, EditorSession, utcnow
from distro.services.activity import record_activity
from distro.settings import WebSettings
from distro.store import editors

ROLES = ("admin", "editor", "viewer")
"""admin: everything; editor: editions, social posts, subscribers; viewer: reads all, changes nothing."""
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_LOCKOUT = timedelta(days=1)
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when nothing real is checked (unknown address, or locked), so every refusal costs
    the same time as a wrong password; made on first use, not at import (a hash costs a quarter second)."""
    return _HASHER.hash(secrets.token_urlsafe(16))


class EditorError(InvalidInput):
    """An editor account cannot be created or changed as asked."""


class LoginRefused(Refused):
    """Not signed in: wrong address, wrong password or locked, and the message never says which."""

    def __init__(self) -> None:
        super().__init__(REFUSED)


REFUSED = "wrong address or password"
_STALE_BATCH = 500  # client rows forgotten per sign-in at most, so the cost of one stays bounded


def _normal(email: str) -> str:
    return email.strip().casefold()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise EditorError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise EditorError(f"the password is longer than {MAX_PASSWORD} characters")


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise EditorError(f"{role!r} is not a role; use one of {', '.join(ROLES)}")
    return role


def add_editor(app: App, email: str, password: str, *, role: str = "editor", actor: str = "system") -> Editor:
    address = _normal(email)
    if "@" not in address or len(address) > 320:
        raise EditorError(f"{email!r} is not an email address")
    _check_role(role)
    _check_password(password)
    with session_scope(app.engine) as session:
        if editors.by_email(session, address) is not None:
            raise EditorError(
                f"{address} is already an editor; use `distro editors passwd` to change the password"
            )
        editor = Editor(email=address, password_hash=_HASHER.hash(password), role=role)
        session.add(editor)
        record_activity(session, actor=actor, action="editor.add", subject=f"editor {address}", detail=role)
        session.flush()
        session.refresh(editor)
        session.expunge(editor)
    return editor


def set_role(app: App, email: str, role: str, *, actor: str = "system") -> Editor:
    """Give an editor another role; it holds from their next request (sessions read it each time)."""
    _check_role(role)
    with session_scope(app.engine) as session:
        editor = editors.by_email(session, _normal(email), lock=True)
        if editor is None:
            raise EditorError(f"no editor {email!r}")
        before, editor.role = editor.role, role
        record_activity(
            session,
            actor=actor,
            action="editor.role",
            subject=f"editor {editor.email}",
            detail=f"{before} -> {role}",
        )
        session.flush()
        session.refresh(editor)
        session.expunge(editor)
    return editor


def set_password(app: App, email: str, password: str, *, actor: str = "system") -> None:
    """New password; every open session of that editor ends and any lockout is lifted."""
    _check_password(password)
    with session_scope(app.engine) as session:
        editor = editors.by_email(session, _normal(email))
        if editor is None:
            raise EditorError(f"no editor {email!r}")
        editor.password_hash = _HASHER.hash(password)
        editor.failed_logins, editor.locked_until = 0, None
        editors.end_sessions(session, editor.id)
        editors.forget_address(session, _hash_of("address", editor.email))
        record_activity(session, actor=actor, action="editor.passwd", subject=f"editor {editor.email}")


def remove_editor(app: App, email: str, *, actor: str = "system") -> None:
    with session_scope(app.engine) as session:
        editor = editors.by_email(session, _normal(email))
        if editor is None:
            raise EditorError(f"no editor {email!r}")
        editors.end_sessions(session, editor.id)
        editors.forget_address(session, _hash_of("address", editor.email))
        record_activity(session, actor=actor, action="editor.remove", subject=f"editor {editor.email}")
        session.delete(editor)


def list_editors(app: App) -> list[Editor]:
    return editors.every(app.engine)


def _hash_of(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\n{value}".encode()).hexdigest()


def client_of(host: str) -> str:
    """Whom a lock binds: an IPv4 address, or an IPv6 /64 (one subscriber line holds a whole /64, so per
    address a guesser would get a fresh client with every request)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _locked(until: datetime | None, now: datetime) -> bool:
    return until is not None and until > now


def _lock_after(web: WebSettings, failures: int, until: datetime | None, now: datetime) -> datetime | None:
    """The lock after ``failures`` in a row: none below the limit, then the first lockout doubling with
    each further failure (at most a day); never shorter than a lock already running."""
    over = failures - web.login_max_failures
    if over < 0:
        return until
    lock = now + min(timedelta(minutes=web.login_lockout_minutes) * (1 << min(over, 16)), MAX_LOCKOUT)
    return max(lock, until) if until is not None else lock


@dataclass(frozen=True, slots=True)
class _Attempt:
    """What one sign-in verifies against, and the editor it signs in if the password is right (None:
    nothing real is checked: the address is unknown or the lock holds, so the dummy hash is verified)."""

    password_hash: str
    editor_id: int | None


def _reserve(app: App, address: str, client_hash: str, now: datetime) -> _Attempt:
    """Count this attempt as a failure before its password is checked, or refuse to check it."""
    web = app.settings.web
    with session_scope(app.engine) as session:  # locks the editor's row, then the client's
        editor = editors.by_email(session, address, lock=True)
        mine = editors.client(session, _hash_of("address", address), client_hash, now)
        recent = now - timedelta(minutes=web.login_lockout_minutes)
        quiet = mine.failures == 0 or mine.last_attempt_at <= recent  # this client has not tried lately
        account_locked = editor is not None and _locked(editor.locked_until, now)
        if _locked(mine.locked_until, now) or (account_locked and not quiet):
            return _Attempt(_dummy_hash(), None)
        mine.failures, mine.last_attempt_at = mine.failures + 1, now
        mine.locked_until = _lock_after(web, mine.failures, mine.locked_until, now)
        if editor is None:
            return _Attempt(_dummy_hash(), None)
        editor.failed_logins += 1
        editor.locked_until = _lock_after(web, editor.failed_logins, editor.locked_until, now)
        return _Attempt(editor.password_hash, editor.id)


def _sign_in(
    app: App, attempt: _Attempt, password: str, client: str, client_hash: str, now: datetime
) -> Editor | None:
    """The right password was given: clear the counts; None if the password changed meanwhile."""
    rehashed = _HASHER.hash(password) if _HASHER.check_needs_rehash(attempt.password_hash) else None
    with session_scope(app.engine) as session:
        editor = editors.locked(session, attempt.editor_id)
        if editor is None or editor.password_hash != attempt.password_hash:
            return None
        editor.password_hash = rehashed or editor.password_hash
        editor.failed_logins, editor.locked_until, editor.last_login_at = 0, None, now
        editors.forget_client(session, _hash_of("address", editor.email), client_hash)
        record_activity(
            session,
            actor=f"editor:{editor.email}",
            action="signin",
            subject=f"editor {editor.email}",
            detail=f"from {client}",
        )
        session.flush()
        session.refresh(editor)
        session.expunge(editor)
        return editor


def authenticate(app: App, email: str, password: str, *, client: str, now: datetime | None = None) -> Editor:
    """The editor, or :class:`LoginRefused`; ``client`` is the IP the attempt came from (module docstring)."""
    now = now or utcnow()
    address, client_hash = _normal(email), _hash_of("client", client_of(client))
    editors.forget_stale(app.engine, idle_since=now - MAX_LOCKOUT, now=now, most=_STALE_BATCH)
    attempt = _reserve(app, address, client_hash, now)
    try:
        _HASHER.verify(attempt.password_hash, password)  # always one verify: every refusal costs the same
    except (VerificationError, InvalidHashError):
        _record_refusal(app, address, client)
        raise LoginRefused() from None
    editor = None
    if attempt.editor_id is not None:
        editor = _sign_in(app, attempt, password, client_of(client), client_hash, now)
    if editor is None:
        _record_refusal(app, address, client)
        raise LoginRefused()
    return editor


def _record_refusal(app: App, address: str, client: str) -> None:
    """A refused sign-in, in the activity record: an editor's address is named, anything else typed into
    the address field (a stranger's guess, a password typed in the wrong box) is not."""
    with session_scope(app.engine) as session:
        known = editors.by_email(session, address) is not None
        record_activity(
            session,
            actor="anonymous",
            action="signin.failed",
            subject=f"editor {address}" if known else "an unknown address",
            detail=f"from {client_of(client)}",
        )


@dataclass(frozen=True, slots=True)
class DeskSession:
    editor_id: int
    email: str
    csrf_token: str
    role: str = "viewer"  # read from the editor's row with every request, so a new role holds at once


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(app: App, editor: Editor, now: datetime | None = None) -> str:
    """A new session for ``editor``; returns the cookie token (shown once, stored only as a hash)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = EditorSession(
        id=_digest(token),
        editor_id=editor.id or 0,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(hours=app.settings.web.session_hours),
    )
    editors.open_session(app.engine, row, now)
    return token


def session_of(app: App, token: str | None, now: datetime | None = None) -> DeskSession | None:
    """The live session the cookie token names, or None (unknown, expired, or the editor was removed)."""
    if not token or len(token) > 200:
        return None
    found = editors.live_session(app.engine, _digest(token), now or utcnow())
    if found is None:
        return None
    row, editor = found
    return DeskSession(
        editor_id=editor.id or 0, email=editor.email, csrf_token=row.csrf_token, role=editor.role
    )


def close_session(app: App, token: str | None) -> None:
    if not token:
        return
    editors.close_session(app.engine, _digest(token))
