"""Who wrote a message that came back: a person's autoresponder (out of office, vacation) or a mail system.

Autoreplies go to the envelope sender (RFC 3834 §4), so they arrive at the VERP bounce address like bounces
do; they must never count as one. The catch is that mail systems mark their bounces as automatic replies
too (Postfix, Exim and Gmail send ``Auto-Submitted: auto-replied``), so that field alone is not enough.
"""

from __future__ import annotations

import re
from email.message import Message
from email.utils import parseaddr

from distro.feedback.mime import content_type, field, fields

_AUTORESPONDER_FIELDS = ("X-Autoreply", "X-Autorespond", "X-MS-Exchange-Inbox-Rules-Loop")
_AUTOREPLY_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto[- ]?reply|auto[- ]?response|autosvar|out of (?:the )?office|vacation"
    r"|away from (?:the )?office|abwesenheitsnotiz|r[ée]ponse automatique|auto:)",
    re.IGNORECASE,
)
# At the start only: "Fwd: failure notice" is a person passing a bounce on, not a bounce.
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliver|delivery status notification|failure notice|returned mail"
    r"|mail delivery (?:failed|failure|system)|(?:message )?delivery (?:failure|failed|has failed)"
    r"|non-?deliver|could not be delivered)",
    re.IGNORECASE,
)
_MAIL_SYSTEM_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_MAIL_SYSTEM_NAMES = re.compile(r"mail delivery (?:system|subsystem)", re.IGNORECASE)


def _auto_submitted(msg: Message) -> str:
    """RFC 3834's keyword, without comments: "auto-replied (vacation)" -> "auto-replied"."""
    return field(msg, "Auto-Submitted").lower().split("(", 1)[0].split(";", 1)[0].strip()


def sent_by_mail_system(msg: Message) -> bool:
    """The marks of a bounce, as opposed to a person or their autoresponder: a delivery report, a
    MAILER-DAEMON or postmaster sender, Exim's X-Failed-Recipients, Exchange's NDR flag, a bounce subject."""
    name, sender = parseaddr(field(msg, "From"))
    local = sender.rpartition("@")[0] if "@" in sender else sender
    return (
        content_type(msg) == "multipart/report"
        or local.lower() in _MAIL_SYSTEM_SENDERS
        or bool(_MAIL_SYSTEM_NAMES.search(name))
        or bool(fields(msg, "X-Failed-Recipients"))
        or bool(fields(msg, "X-MS-Exchange-Message-Is-Ndr"))
        or bool(_BOUNCE_SUBJECT.search(field(msg, "Subject")))
    )


def null_sender(msg: Message) -> bool:
    """Return-Path ``<>``: a bounce (or an autoreply, which RFC 3834 also sends without one)."""
    return any(value.replace(" ", "") == "<>" for value in fields(msg, "Return-Path"))


def is_autoreply(msg: Message) -> bool:
    """An autoresponder wrote this. Fields only autoresponders set count on their own; Auto-Submitted:
    auto-replied counts unless the message has the marks of a bounce; Exchange's X-Auto-Response-Suppress
    and Auto-Submitted: auto-generated (which every DSN carries) count only with an autoreply subject."""
    if any(fields(msg, name) for name in _AUTORESPONDER_FIELDS):
        return True
    if field(msg, "Precedence").lower().strip() == "auto_reply":
        return True
    auto_submitted = _auto_submitted(msg)
    if auto_submitted == "auto-replied" and not sent_by_mail_system(msg):
        return True
    hinted = auto_submitted == "auto-generated" or bool(fields(msg, "X-Auto-Response-Suppress"))
    return hinted and bool(_AUTOREPLY_SUBJECT.search(field(msg, "Subject")))
