"""Enhanced status codes (RFC 3463) in a bounce's words, and what a failure with one means for the address."""

from __future__ import annotations

import re

from distro.feedback.mime import one_line
from distro.feedback.report import Kind

# "5.1.1", never a piece of an IP address or a version number ("10.5.1.12", "5.1.1.4").
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
# The basic SMTP reply code that usually precedes it ("550 5.1.1", "550-5.1.1", "554: delivery error").
_REPLY = re.compile(r"(?<![\w.#])#?([245][0-5]\d)(?=[ :-]|$)")
# Mailbox full: a 5.x.x by the letter, but it clears up when the reader empties the mailbox, so
# suppressing the address at once would drop a working reader; it counts as soft like any 4.x.x.
_MAILBOX_FULL = "5.2.2"
# 5.7.x is security or policy ("blocked", "rejected as spam", DMARC, a blocklisted sending IP): it says
# something about the sender more than about the address, and a list-wide block would otherwise
# suppress every reader at that provider at once. Soft: counted, suppressed only if it keeps happening.
_POLICY = "5.7."


def find_status(text: str | None) -> str | None:
    """The first enhanced status code in ``text``, as "5.1.1"."""
    if not text or not (found := _ENHANCED.search(text)):
        return None
    return ".".join(found.groups())


def failure_kind(status: str | None) -> Kind:
    """What a delivery that failed with ``status`` says about the address.

    No status at all is read as permanent: the reporting system gave up without saying why (RFC 3464
    makes Status mandatory, and ``failed`` means it will not try again).
    """
    if status is None:
        return Kind.HARD
    if status == _MAILBOX_FULL or status.startswith(("4", _POLICY)):
        return Kind.SOFT
    return Kind.HARD if status.startswith("5") else Kind.UNRECOGNISED


def status_kind(status: str | None) -> Kind:
    """The kind a code found in free text implies, where nothing else says the delivery failed."""
    return Kind.UNRECOGNISED if status is None else failure_kind(status)


def diagnostic_line(text: str) -> str | None:
    """The remote server's answer in a bounce's text: the line with the first status code, from its basic
    reply code on ("550 5.1.1 <ana@example.net>: User unknown"); else the first line that starts with a
    reply code (Yahoo's "554: delivery error: ...")."""
    if found := _ENHANCED.search(text):
        start = text.rfind("\n", 0, found.start()) + 1
        end = text.find("\n", found.end())
        line = text[start : end if end != -1 else len(text)]
        column = found.start() - start
        replies = [m for m in _REPLY.finditer(line, 0, column) if column - m.end() <= 2]
        return one_line(line[replies[-1].start(1) :] if replies else line)
    for line in text.splitlines():
        stripped = line.strip()
        if _REPLY.match(stripped):
            return one_line(stripped.lstrip("#"))
    return None
