"""RFC 3464 delivery status notifications: the ``message/delivery-status`` part, one field group per
recipient, read into the most severe :class:`~distro.feedback.report.Feedback` among them."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import Message

from distro.feedback.codes import failure_kind, find_status
from distro.feedback.mime import address, content_type, field, one_line, part_text, report_parts
from distro.feedback.report import Feedback, Kind, Source

_SEVERITY = {Kind.HARD: 2, Kind.SOFT: 1, Kind.UNRECOGNISED: 0}
_FAILED = ("failed", "error")  # "error" is opensmtpd's, outside the RFC
_TYPE_PREFIX = re.compile(r"^\s*[\w.-]+\s*;\s*")  # "smtp; 550 ..." / "X-Postfix; ..."


def delivery_status_part(msg: Message) -> Message | None:
    """The report's ``message/delivery-status`` part, if it has one."""
    for part in report_parts(msg):
        if content_type(part) == "message/delivery-status":
            return part
    return None


def _blocks(part: Message) -> list[Message]:
    """The part's field groups. The email package parses them into one Message each; when it left the
    payload as text (broken MIME, an odd transfer encoding), the groups are split at blank lines here."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = part_text(part) if isinstance(payload, str) else ""
    groups = re.split(r"\n[ \t]*\r?\n", text.replace("\r\n", "\n"))
    return [email.message_from_string(group.strip(), policy=email.policy.compat32) for group in groups]


def _recipient(block: Message) -> str | None:
    """Original-Recipient is the address as distro gave it; Final-Recipient may be where it was forwarded."""
    return address(field(block, "Original-Recipient")) or address(field(block, "Final-Recipient"))


def _group(block: Message) -> Feedback | None:
    """One recipient's group, or None for the per-message group (and anything else without an Action)."""
    action = field(block, "Action").lower().split(" ", 1)[0]
    if not action:
        return None
    diagnostic = one_line(_TYPE_PREFIX.sub("", field(block, "Diagnostic-Code")))
    status = find_status(field(block, "Status")) or find_status(diagnostic)
    failed = action.startswith(_FAILED)
    return Feedback(
        failure_kind(status) if failed else Kind.UNRECOGNISED,
        Source.DSN,
        recipient=_recipient(block),
        status=status,
        diagnostic=diagnostic or (None if failed else f"action {action}"),
    )


def read_delivery_status(msg: Message) -> Feedback | None:
    """The most severe recipient group of a DSN (hard > soft > a warning such as ``delayed``); None when
    the message has no delivery-status part or no group in it names an Action.

    ``delayed``, ``delivered``, ``relayed`` and ``expanded`` are not failures: they come back as
    UNRECOGNISED, keeping their status, so a warning never counts against the reader.
    """
    part = delivery_status_part(msg)
    if part is None:
        return None
    groups = [group for block in _blocks(part) if (group := _group(block))]
    if not groups:
        return None
    return max(groups, key=lambda group: _SEVERITY[group.kind])  # max() keeps the first of equals
