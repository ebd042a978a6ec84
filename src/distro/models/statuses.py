"""The status enums (plain strings in the database; :mod:`distro.store.transitions` lists legal changes)."""

from __future__ import annotations

from enum import StrEnum


class SubscriberStatus(StrEnum):
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"


class DigestStatus(StrEnum):
    COMPOSED = "composed"  # rendered and validated, no delivery rows yet
    QUEUED = "queued"  # one delivery row per recipient exists


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its first or next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by a worker until lease_until
    SENT = "sent"
    FAILED = "failed"  # permanent failure or attempts exhausted; last_error says why
    SUPPRESSED = "suppressed"  # recipient unsubscribed before it went out
    HELD = "held"  # an editor holds the post back; never claimed until released


class AttemptOutcome(StrEnum):
    IN_FLIGHT = "in_flight"
    SENT = "sent"
    TEMPORARY = "temporary"
    RATE_LIMITED = "rate_limited"
    PERMANENT = "permanent"
    HARD_BOUNCE = "hard_bounce"  # permanent: the receiving server refused the address (RecipientRejected)
    CHANNEL_DOWN = "channel_down"  # the channel could not work; the message stays queued
    ABANDONED = "abandoned"  # the worker vanished; its lease expired before it reported
    SUPPRESSED = "suppressed"


class Channel(StrEnum):
    EMAIL = "email"
    X = "x"
    FACEBOOK = "facebook"


class AccountStatus(StrEnum):
    OK = "ok"
    NEEDS_REAUTH = "needs_reauth"  # the platform refused the token (X 401, Facebook 190); posts wait


class SuppressionReason(StrEnum):
    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE = "soft_bounce"  # soft bounces reached [bounces] soft_limit within the window
    COMPLAINT = "complaint"
    MANUAL = "manual"
    UNSUBSCRIBED = "unsubscribed"
