"""The suppression list: addresses nothing is sent to, consulted at enqueue and again at send.

Why both: a digest is queued once but sent over minutes or hours, and an address can bounce or complain in
between. Unsubscribed subscribers are treated the same way without a row here: they are not queued
(``active_subscribers``) and their queued rows become ``suppressed`` at send (the message builder checks
the subscriber's status), so the list only has to hold what the subscriber table cannot say (hard bounces,
complaints, manual blocks, addresses that are not subscribers).

Hard bounces: a :class:`~distro.errors.RecipientRejected` (5xx at RCPT) counts one on the subscriber; at
``dispatch.hard_bounce_limit`` (default 1: a 5.1.1 "no such user" does not heal, and mailbox providers
judge senders by how often they hit dead addresses) the address goes on the list. The outbox counts them
in the transaction that records the attempt (:func:`distro.store.suppressions.count_bounces`), so a crash
cannot count a bounce twice or lose it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Protocol, TypeVar

from sqlalchemy.engine import Engine

from distro.errors import InvalidInput
from distro.models import SuppressionReason
from distro.services.activity import record_activity
from distro.store import suppressions
from distro.store.suppressions import key


def suppress(
    engine: Engine,
    email: str,
    reason: SuppressionReason | str,
    detail: str | None = None,
    *,
    actor: str | None = None,
) -> bool:
    """Put ``email`` on the list; False if it was already there (its first reason is kept). With
    ``actor`` (an editor's decision, not a bounce), an addition is in the activity record."""
    from distro.services.subscribers import normalise_email  # it stands on this module

    reason, email = _reason(reason), normalise_email(email)
    with engine.begin() as connection:
        added = suppressions.add(connection, email, reason, detail)
        if added and actor is not None:
            said = f"{reason}: {detail}" if detail else str(reason)
            record_activity(
                connection, actor=actor, action="suppression.add", subject=f"suppression {email}", detail=said
            )
        return added


@dataclass(frozen=True, slots=True)
class Entry:
    """One address on the list (``distro suppressions list``)."""

    email: str
    reason: str
    since: datetime
    detail: str | None


def list_suppressions(engine: Engine, *, reason: str | None = None, limit: int = 1000) -> list[Entry]:
    """The list, newest first; ``reason`` one of :class:`SuppressionReason` to see one kind only."""
    if reason is not None:
        reason = _reason(reason)
    return [
        Entry(s.email, s.reason, s.created_at, s.detail)
        for s in suppressions.listed(engine, reason=reason, limit=limit)
    ]


def _reason(value: str) -> SuppressionReason:
    try:
        return SuppressionReason(value)
    except ValueError:
        known = ", ".join(r.value for r in SuppressionReason)
        raise InvalidInput(f"unknown suppression reason {value!r} (one of {known})") from None


def unsuppress(engine: Engine, email: str, *, actor: str | None = None) -> bool:
    """Take ``email`` off the list (an editor's decision); resets its hard-bounce count too. With
    ``actor``, a removal is in the activity record."""
    with engine.begin() as connection:
        removed = suppressions.remove(connection, email)
        if removed and actor is not None:
            subject = f"suppression {email.strip()}"
            record_activity(connection, actor=actor, action="suppression.remove", subject=subject)
        return removed


def suppressed_among(engine: Engine, emails: Iterable[str]) -> dict[str, str]:
    """The given addresses that are suppressed, lower-cased, with their reason."""
    with engine.connect() as connection:
        return suppressions.reasons(connection, emails)


class _HasEmail(Protocol):
    @property
    def email(self) -> str: ...


T = TypeVar("T", bound=_HasEmail)


def without_suppressed(engine: Engine, items: Iterable[T]) -> Iterator[T]:
    """``items`` minus suppressed addresses, a page at a time (the list is never loaded whole)."""
    iterator = iter(items)
    while page := list(islice(iterator, suppressions.PAGE)):
        blocked = suppressed_among(engine, (item.email for item in page))
        yield from (item for item in page if key(item.email) not in blocked)


def suppression_reasons(engine: Engine, recipients: Mapping[int, str]) -> dict[int, str]:
    """For delivery ids mapped to addresses: the ones to suppress at send, with the reason for the log."""
    blocked = suppressed_among(engine, recipients.values())
    return {
        delivery_id: f"address is on the suppression list ({blocked[key(email)]})"
        for delivery_id, email in recipients.items()
        if key(email) in blocked
    }
