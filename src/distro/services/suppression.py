"""The suppression list: addresses nothing is sent to, consulted at enqueue and again at send.

Why both: a digest is queued once but sent over minutes or hours, and an address can bounce or complain in
between. Unsubscribed subscribers are treated the same way without a row here: they are not queued
(``active_subscribers``) and their queued rows become ``suppressed`` at send (the message builder checks
the subscriber's status), so the list only has to hold what the subscriber table cannot say (hard bounces,
complaints, manual blocks, addresses that are not subscribers).

Hard bounces: a :class:`~distro.errors.RecipientRejected` (5xx at RCPT) counts one on the subscriber; at
``dispatch.hard_bounce_limit`` (default 1: a 5.1.1 "no such user" does not heal, and mailbox providers
judge senders by how often they hit dead addresses) the address goes on the list. The count is written in
the same transaction as the attempt, so a crash cannot count a bounce twice or lose it.

This module depends only on the models, so the outbox can call it inside its own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from distro.db import is_postgres
from distro.models import Subscriber, Suppression, SuppressionReason, utcnow

S = Suppression.__table__  # type: ignore[attr-defined]
SUB = Subscriber.__table__  # type: ignore[attr-defined]
_PAGE = 500


def _key(email: str) -> str:
    return email.strip().lower()


def _insert(connection: Connection, values: list[dict[str, Any]]) -> int:
    """Insert suppression rows, keeping the first reason an address got; return how many were new."""
    if not values:
        return 0
    if is_postgres(connection.engine):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    statement = insert(S).values(values).on_conflict_do_nothing(index_elements=["email"])
    return len(connection.execute(statement.returning(S.c.id)).fetchall())


def suppress(engine: Engine, email: str, reason: SuppressionReason | str, detail: str | None = None) -> bool:
    """Put ``email`` on the list; False if it was already there (its first reason is kept)."""
    reason = SuppressionReason(reason)  # ValueError names the bad reason
    with engine.begin() as connection:
        row = {"email": _key(email), "reason": reason, "detail": detail, "created_at": utcnow()}
        return _insert(connection, [row]) == 1


def unsuppress(engine: Engine, email: str) -> bool:
    """Take ``email`` off the list (an editor's decision); resets its hard-bounce count too."""
    with engine.begin() as connection:
        removed = connection.execute(sa.delete(S).where(S.c.email == _key(email))).rowcount
        connection.execute(
            sa.update(SUB).where(sa.func.lower(SUB.c.email) == _key(email)).values(hard_bounces=0)
        )
    return bool(removed)


def suppressed_among(engine: Engine, emails: Iterable[str]) -> dict[str, str]:
    """The given addresses that are suppressed, lower-cased, with their reason."""
    with engine.connect() as connection:
        return suppressed_on(connection, emails)


def suppressed_on(connection: Connection, emails: Iterable[str]) -> dict[str, str]:
    """:func:`suppressed_among` inside the caller's transaction (on SQLite every transaction takes the
    write lock, so a writer cannot ask through a second connection)."""
    wanted = sorted({_key(e) for e in emails})
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _PAGE):
        chunk = wanted[start : start + _PAGE]
        query = sa.select(S.c.email, S.c.reason).where(S.c.email.in_(chunk))
        found.update({email: reason for email, reason in connection.execute(query)})
    return found


class _HasEmail(Protocol):
    @property
    def email(self) -> str: ...


T = TypeVar("T", bound=_HasEmail)


def without_suppressed(engine: Engine, items: Iterable[T]) -> Iterator[T]:
    """``items`` minus suppressed addresses, a page at a time (the list is never loaded whole)."""
    iterator = iter(items)
    while page := list(islice(iterator, _PAGE)):
        blocked = suppressed_among(engine, (item.email for item in page))
        yield from (item for item in page if _key(item.email) not in blocked)


@dataclass(frozen=True, slots=True)
class Bounce:
    """One hard bounce to count: the delivery's subscriber (if any), its address, the server's reply."""

    subscriber_id: int | None
    email: str
    detail: str


def count_bounces(connection: Connection, bounces: Sequence[Bounce], *, limit: int) -> list[str]:
    """Count each bounce on its subscriber, suppress addresses at ``limit``; return the new suppressions.

    Runs inside the caller's transaction (the outbox's ``record``), so it commits with the attempt log.
    A bounce for an address that is not a subscriber suppresses at once: there is nothing to count on.
    """
    reached: dict[str, str] = {}
    for bounce in bounces:
        count = limit
        if bounce.subscriber_id is not None:
            count = (
                connection.execute(
                    sa.update(SUB)
                    .where(SUB.c.id == bounce.subscriber_id)
                    .values(hard_bounces=SUB.c.hard_bounces + 1)
                    .returning(SUB.c.hard_bounces)
                ).scalar_one_or_none()
                or limit
            )
        if count >= limit:
            reached.setdefault(_key(bounce.email), f"{count} hard bounce(s); last: {bounce.detail}"[:2000])
    now = utcnow()
    rows = [
        {"email": email, "reason": SuppressionReason.HARD_BOUNCE, "detail": detail, "created_at": now}
        for email, detail in reached.items()
    ]
    _insert(connection, rows)
    return list(reached)


def suppression_reasons(engine: Engine, recipients: Mapping[int, str]) -> dict[int, str]:
    """For delivery ids mapped to addresses: the ones to suppress at send, with the reason for the log."""
    blocked = suppressed_among(engine, recipients.values())
    return {
        delivery_id: f"address is on the suppression list ({blocked[_key(email)]})"
        for delivery_id, email in recipients.items()
        if _key(email) in blocked
    }
