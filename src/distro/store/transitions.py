"""The one table of legal status changes: subscribers, digests and deliveries.

Every store function that changes a status asks this table, either before it writes (:func:`check`) or in
its ``WHERE`` clause (:func:`sources`: only rows in a state the change is legal from are touched, so a row a
worker moved meanwhile is left alone). Staying in a state is always legal (repeating a click changes
nothing). A new state means a new line here, and the tests of this module say why each line exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from distro.errors import IllegalTransition
from distro.models import DeliveryStatus, DigestStatus, SubscriberStatus

_S, _G, _D = SubscriberStatus, DigestStatus, DeliveryStatus

LEGAL: Mapping[type[StrEnum], Mapping[StrEnum, frozenset[StrEnum]]] = {
    SubscriberStatus: {
        _S.ACTIVE: frozenset({_S.UNSUBSCRIBED}),  # unsubscribe link, List-Unsubscribe, preferences
        _S.UNSUBSCRIBED: frozenset({_S.ACTIVE}),  # re-subscribe link, a confirmed sign-up
    },
    DigestStatus: {
        _G.COMPOSED: frozenset({_G.QUEUED}),  # its delivery rows exist; a queued edition never goes back
        _G.QUEUED: frozenset(),
    },
    DeliveryStatus: {
        # Claimed by a worker; held by an editor; or sent: a confirmed send is recorded whatever the row
        # says meanwhile (the log must not deny a message the provider accepted, see outbox.record).
        _D.PENDING: frozenset({_D.SENDING, _D.HELD, _D.SENT}),
        # The attempt's outcome; back to pending for a retry or a release; re-claimed after its lease.
        _D.SENDING: frozenset({_D.SENT, _D.FAILED, _D.SUPPRESSED, _D.PENDING}),
        _D.HELD: frozenset({_D.PENDING, _D.SENT}),  # released (or "post now"); a late confirmed send
        _D.FAILED: frozenset({_D.SENT}),  # a late confirmed send of a row given up after a takeover
        _D.SUPPRESSED: frozenset({_D.SENT}),  # likewise
        _D.SENT: frozenset(),  # final
    },
}


def allowed(old: StrEnum | str, new: StrEnum) -> bool:
    """Whether a row of ``new``'s kind may go from ``old`` to ``new`` (staying put always may)."""
    kind = type(new)
    try:
        before = kind(old)
    except ValueError:
        return False
    return before == new or new in LEGAL[kind].get(before, frozenset())


def check(old: StrEnum | str, new: StrEnum) -> None:
    """Refuse a change the table does not list, with :class:`~distro.errors.IllegalTransition`."""
    if not allowed(old, new):
        raise IllegalTransition(type(new).__name__, str(old), str(new))


def sources(new: StrEnum) -> tuple[str, ...]:
    """Every other state ``new`` may be entered from: for a ``status IN (...)`` guard."""
    kind = type(new)
    return tuple(str(old) for old in kind if old != new and new in LEGAL[kind].get(old, frozenset()))


def legal_from(new: StrEnum, *olds: StrEnum) -> tuple[str, ...]:
    """``olds`` for the ``status IN (...)`` guard of one change to ``new``, each checked against the table
    (a guard that names a change the table does not list fails at once, not in production)."""
    for old in olds:
        check(old, new)
    return tuple(str(old) for old in olds)
