"""One raw message that arrived at the bounce address, read into a :class:`Feedback`.

In order: autoreplies (never bounces), ARF feedback reports (complaints), RFC 3464 DSNs, the non-standard
bounce texts flufl.bounce knows (Exim, qmail, Yahoo, Exchange, ...), and last a message that only looks
like a bounce but arrived on a VERP address, classified by the status code in its text. The VERP token is
read first and travels with whatever is found: it names the delivery even when the report names nobody.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from email.message import Message

from flufl.bounce import all_failures

from distro.feedback import verp
from distro.feedback.arf import read_feedback_report
from distro.feedback.autoreply import is_autoreply, null_sender, sent_by_mail_system
from distro.feedback.codes import diagnostic_line, failure_kind, find_status, status_kind
from distro.feedback.dsn import read_delivery_status
from distro.feedback.mime import field, fields, one_line, original, own_text, parse, single_address
from distro.feedback.report import Feedback, Kind, Source

_ENVELOPE_FIELDS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")


def read_message(
    data: bytes, *, bounce_address: str | None = None, envelope_recipient: str | None = None
) -> Feedback:
    """What ``data`` (one RFC 5322 message) says about one delivery. Never raises: anything that cannot be
    read, or is not a bounce or complaint, is UNRECOGNISED with the reason in ``diagnostic``.

    ``bounce_address`` is the VERP template (``bounces+{token}@...``) and ``envelope_recipient`` the address
    the message was delivered to (LMTP RCPT TO), the most trustworthy place for the token. ``report_id`` is
    always set: the report's Message-ID, else a digest of ``data``, so the same report read twice counts once.
    """
    report_id = f"sha256:{hashlib.sha256(data).hexdigest()}"
    try:
        return _read(data, report_id, bounce_address, envelope_recipient)
    except Exception as error:  # a parser or detector bug must not lose the listener its message
        reason = one_line(f"unreadable: {type(error).__name__}: {error}")
        return Feedback(Kind.UNRECOGNISED, Source.DSN, diagnostic=reason, report_id=report_id)


def _read(
    data: bytes, report_id: str, bounce_address: str | None, envelope_recipient: str | None
) -> Feedback:
    if not data.strip():
        return Feedback(Kind.UNRECOGNISED, Source.DSN, diagnostic="empty message", report_id=report_id)
    msg = parse(data)
    if not msg.keys():
        reason = "not an email message: no header fields"
        return Feedback(Kind.UNRECOGNISED, Source.DSN, diagnostic=reason, report_id=report_id)
    report_id = _message_id(msg) or report_id
    candidates = [envelope_recipient, *_envelope_candidates(msg)]
    if is_autoreply(msg):
        token = _token(bounce_address, candidates)
        return Feedback(
            Kind.UNRECOGNISED, Source.DSN, diagnostic="autoreply", token=token, report_id=report_id
        )
    if complaint := read_feedback_report(msg):
        token = _token(bounce_address, [*candidates, *complaint.token_candidates])
        return _settled(complaint.feedback, token, report_id)
    token = _token(bounce_address, [*candidates, _returned_sender(msg)])
    feedback = read_delivery_status(msg) or _nonstandard(msg) or _looks_like_bounce(msg, token)
    return _settled(feedback, token, report_id)


def _message_id(msg: Message) -> str | None:
    value = field(msg, "Message-ID").strip().strip("<>").strip()
    return value[:200] or None


def _envelope_candidates(msg: Message) -> list[str]:
    """Where the address the message was delivered to is recorded, most specific first."""
    return [value for name in _ENVELOPE_FIELDS for value in fields(msg, name)]


def _returned_sender(msg: Message) -> str | None:
    """The envelope sender of the returned original: our VERP address, if the bounce kept its headers."""
    returned = original(msg)
    return field(returned, "Return-Path") if returned is not None else None


def _token(bounce_address: str | None, candidates: list[str | None]) -> str | None:
    return verp.token_in(bounce_address, candidates) if bounce_address else None


def _settled(feedback: Feedback, token: str | None, report_id: str) -> Feedback:
    """``feedback`` with its token and report id. A bounce or complaint that names no recipient still
    counts when a token names the delivery; with neither there is nobody to act on."""
    if feedback.kind is not Kind.UNRECOGNISED and feedback.recipient is None and token is None:
        reason = one_line(f"{feedback.kind} report names no recipient and carries no VERP token")
        feedback = replace(feedback, kind=Kind.UNRECOGNISED, diagnostic=reason)
    return replace(feedback, token=token, report_id=report_id)


def _detected(msg: Message) -> tuple[frozenset[bytes], frozenset[bytes]]:
    """flufl.bounce's (temporary, permanent) addresses; nothing when a detector trips over the message."""
    try:
        return all_failures(msg)
    except Exception:
        return frozenset(), frozenset()


def _pick(found: frozenset[bytes], msg: Message) -> str | None:
    """The recipient among detected addresses: the returned original's To when it is one of them (a
    detector can catch other addresses in the text), else the first in order."""
    addresses = sorted(single for raw in found if (single := single_address(raw.decode("ascii", "replace"))))
    returned = original(msg)
    to = single_address(field(returned, "To")) if returned is not None else None
    return to if to in addresses else (addresses[0] if addresses else None)


def _nonstandard(msg: Message) -> Feedback | None:
    """A bounce in one of the non-standard shapes flufl.bounce knows; None if none of them fits.

    flufl.bounce calls every failure it cannot date permanent, so a status code in the text has the last
    word (a 4.x.x or 5.2.2 is soft). What it reports as temporary are delay warnings ("will retry"), not
    failures: UNRECOGNISED, as a DSN's ``delayed`` is.
    """
    if not (sent_by_mail_system(msg) or null_sender(msg)):
        return None  # a person quoting or forwarding a bounce text has not bounced
    temporary, permanent = _detected(msg)
    if not temporary and not permanent:
        return None
    text = own_text(msg)
    status = find_status(text)
    diagnostic = diagnostic_line(text)
    if not permanent:
        warning = diagnostic or "delivery delayed: the reporting system will retry"
        recipient = _pick(temporary, msg)
        return Feedback(Kind.UNRECOGNISED, Source.DSN, recipient=recipient, status=status, diagnostic=warning)
    recipient = _pick(permanent, msg)
    return Feedback(
        failure_kind(status), Source.DSN, recipient=recipient, status=status, diagnostic=diagnostic
    )


def _looks_like_bounce(msg: Message, token: str | None) -> Feedback:
    """The last resort, for bounce texts no detector knows: only a message that arrived on a VERP address
    and has the marks of a bounce counts, and only by the code in its text (5.x.x hard, 4.x.x soft)."""
    if not (sent_by_mail_system(msg) or null_sender(msg)):
        return Feedback(Kind.UNRECOGNISED, Source.DSN, diagnostic="not a bounce or complaint")
    if token is None:
        reason = "looks like a bounce no detector knows, and no VERP token names the delivery"
        return Feedback(Kind.UNRECOGNISED, Source.DSN, diagnostic=reason)
    text = own_text(msg)
    status = find_status(text)
    kind = status_kind(status)
    if kind is Kind.UNRECOGNISED:
        reason = "looks like a bounce but gives no status code"
        return Feedback(kind, Source.DSN, status=status, diagnostic=reason)
    returned = original(msg)
    recipient = single_address(field(returned, "To")) if returned is not None else None
    return Feedback(kind, Source.DSN, recipient=recipient, status=status, diagnostic=diagnostic_line(text))
