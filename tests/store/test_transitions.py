"""The table of legal status changes, and the guards built from it."""

from __future__ import annotations

from enum import StrEnum

import pytest

from distro.errors import IllegalTransition
from distro.models import DeliveryStatus, DigestStatus, SubscriberStatus
from distro.store import transitions
from distro.store.transitions import allowed, check, legal_from, sources


@pytest.mark.parametrize("kind", list(transitions.LEGAL))
def test_every_state_has_a_line(kind: type) -> None:
    assert set(transitions.LEGAL[kind]) == set(kind)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (SubscriberStatus.ACTIVE, SubscriberStatus.UNSUBSCRIBED),
        (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.ACTIVE),
        (DigestStatus.COMPOSED, DigestStatus.QUEUED),
        (DeliveryStatus.PENDING, DeliveryStatus.SENDING),
        (DeliveryStatus.PENDING, DeliveryStatus.HELD),
        (DeliveryStatus.HELD, DeliveryStatus.PENDING),
        (DeliveryStatus.SENDING, DeliveryStatus.FAILED),
        (DeliveryStatus.SENDING, DeliveryStatus.PENDING),
        (DeliveryStatus.FAILED, DeliveryStatus.SENT),  # a confirmed send after a takeover is recorded
        ("pending", DeliveryStatus.SENDING),  # as read from a plain string column
        (DeliveryStatus.SENT, DeliveryStatus.SENT),  # staying put
    ],
)
def test_legal_changes(old: str, new: StrEnum) -> None:
    assert allowed(old, new)
    check(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (DigestStatus.QUEUED, DigestStatus.COMPOSED),
        (DeliveryStatus.SENT, DeliveryStatus.PENDING),
        (DeliveryStatus.FAILED, DeliveryStatus.PENDING),
        (DeliveryStatus.HELD, DeliveryStatus.SENDING),  # a held row is never claimed
        ("bogus", DeliveryStatus.SENT),
    ],
)
def test_illegal_changes(old: str, new: StrEnum) -> None:
    assert not allowed(old, new)
    with pytest.raises(IllegalTransition, match="is not a legal change"):
        check(old, new)


def test_guards() -> None:
    assert set(sources(DeliveryStatus.SENT)) == {s for s in DeliveryStatus if s != DeliveryStatus.SENT}
    assert sources(DeliveryStatus.HELD) == ("pending",)
    assert legal_from(DeliveryStatus.PENDING, DeliveryStatus.HELD) == ("held",)
    with pytest.raises(IllegalTransition):
        legal_from(DeliveryStatus.PENDING, DeliveryStatus.SENT)
