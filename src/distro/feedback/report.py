"""The one shape every bounce, complaint and provider event is read into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    HARD = "hard"  # the address does not work and will not (5.x.x): suppress at once
    SOFT = "soft"  # may clear up (4.x.x, mailbox full, greylisting): counted, suppressed after N
    COMPLAINT = "complaint"  # the reader pressed "spam" (ARF, provider complaint): unsubscribe, suppress
    UNRECOGNISED = "unrecognised"  # not a bounce or complaint (autoreplies included): nothing happens


class Source(StrEnum):
    SMTP = "smtp"  # refused at RCPT time by the server distro spoke to
    DSN = "dsn"  # a bounce message (RFC 3464 or a non-standard text)
    ARF = "arf"  # an RFC 5965 feedback report
    PROVIDER = "provider"  # an ESP webhook (SES, Postmark, Mailgun, SendGrid)


@dataclass(frozen=True, slots=True)
class Feedback:
    """One event about one recipient, as read; nothing here is trusted yet.

    ``token`` is the VERP token found in the bounce address (unverified: the service checks its
    signature); ``report_id`` identifies the report itself (its Message-ID, the provider's event id) so the
    same report read twice counts once.
    """

    kind: Kind
    source: Source
    recipient: str | None = None  # the address that bounced or complained, lower-cased
    status: str | None = None  # enhanced status code, e.g. "5.1.1"
    diagnostic: str | None = None  # the remote server's words, one line, at most 500 characters
    token: str | None = None
    report_id: str | None = None
    provider: str | None = None  # "ses", "postmark", "mailgun", "sendgrid" for Source.PROVIDER
    occurred_at: datetime | None = None  # when the provider says it happened (aware, UTC)
