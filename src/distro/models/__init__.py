"""Tables and status enums. Each stage writes rows the next stage reads (see DESIGN.md).

All datetimes are timezone-aware UTC in Python and stored as naive UTC, so SQLite and PostgreSQL behave
the same. Status columns are their enums in Python and plain strings in the database (not database enums,
so adding a state needs no type migration); :mod:`distro.store.transitions` lists the legal changes.
"""

from __future__ import annotations

from distro.models.activity import Activity
from distro.models.api import ApiToken
from distro.models.columns import (
    StatusString,
    UTCDateTime,
    utcnow,
)
from distro.models.content import (
    Article,
    Digest,
    DigestEdit,
    DigestVariant,
    SeenWebhookSignature,
    SocialPost,
    Source,
    WebSubSubscription,
)
from distro.models.delivery import (
    BounceEvent,
    ChannelPause,
    Delivery,
    DeliveryAttempt,
    Suppression,
)
from distro.models.desk_sources import DeskSource
from distro.models.people import (
    Editor,
    EditorSession,
    OneOffMessage,
    RateLimitEvent,
    SignInClient,
    Signup,
    SocialAccount,
    Subscriber,
    UnsubscribeEvent,
)
from distro.models.statuses import (
    AccountStatus,
    AttemptOutcome,
    Channel,
    DeliveryStatus,
    DigestStatus,
    SubscriberStatus,
    SuppressionReason,
)
from distro.models.tracking import (
    ClickKind,
    DigestLink,
    LinkClick,
    OpenHit,
    OpenKind,
)
from distro.models.webhooks import WebhookEvent

__all__ = [
    "Activity",
    "AccountStatus",
    "ApiToken",
    "Article",
    "AttemptOutcome",
    "Channel",
    "ChannelPause",
    "ClickKind",
    "Delivery",
    "DeskSource",
    "DeliveryAttempt",
    "DeliveryStatus",
    "Digest",
    "DigestEdit",
    "DigestLink",
    "DigestStatus",
    "DigestVariant",
    "Editor",
    "EditorSession",
    "LinkClick",
    "OneOffMessage",
    "OpenHit",
    "OpenKind",
    "RateLimitEvent",
    "SeenWebhookSignature",
    "SignInClient",
    "Signup",
    "SocialAccount",
    "SocialPost",
    "Source",
    "StatusString",
    "Subscriber",
    "UnsubscribeEvent",
    "WebhookEvent",
    "SubscriberStatus",
    "BounceEvent",
    "Suppression",
    "SuppressionReason",
    "UTCDateTime",
    "WebSubSubscription",
    "utcnow",
]
