"""RFC 5965 feedback reports (ARF): a mailbox provider telling the sender that its user pressed "spam"."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from distro.feedback.mime import (
    address,
    content_type,
    embedded,
    field,
    fields,
    original,
    report_parts,
    report_type,
    single_address,
)
from distro.feedback.report import Feedback, Kind, Source

# What the reader meant as a complaint. "not-spam" takes one back and RFC 6591's "auth-failure" is about
# the message's authentication, not the reader's wish: neither unsubscribes anyone.
COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus", "other"})


@dataclass(frozen=True, slots=True)
class Complaint:
    """A feedback report as read: the :class:`Feedback` and where its VERP token may be."""

    feedback: Feedback
    token_candidates: tuple[str, ...]


def _feedback_fields(msg: Message) -> Message | None:
    for part in report_parts(msg):
        if content_type(part) == "message/feedback-report":
            return embedded(part)
    return None


def _recipient(report: Message, returned: Message | None) -> str | None:
    """Original-Rcpt-To, else the To of the returned original (providers may redact either)."""
    for value in fields(report, "Original-Rcpt-To"):
        if found := address(value):
            return found
    return single_address(field(returned, "To")) if returned is not None else None


def read_feedback_report(msg: Message) -> Complaint | None:
    """The report as a complaint (or UNRECOGNISED for not-spam and unknown types); None if it is not ARF."""
    report = _feedback_fields(msg)
    if report is None:
        if report_type(msg) != "feedback-report":
            return None
        return Complaint(
            Feedback(Kind.UNRECOGNISED, Source.ARF, diagnostic="feedback report without fields"), ()
        )
    feedback_type = field(report, "Feedback-Type").lower().split(" ", 1)[0]
    returned = original(msg)
    candidates = [field(returned, "Return-Path")] if returned is not None else []
    candidates += fields(report, "Original-Mail-From")
    feedback = Feedback(
        Kind.COMPLAINT if feedback_type in COMPLAINT_TYPES else Kind.UNRECOGNISED,
        Source.ARF,
        recipient=_recipient(report, returned),
        diagnostic=f"feedback-type {feedback_type or 'missing'}"[:500],
    )
    return Complaint(feedback, tuple(candidates))
