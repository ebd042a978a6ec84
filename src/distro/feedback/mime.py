"""Reading a parsed message that may be broken in any way: header fields as clean text, the parts a report
is made of, the original message it returns, and the words the reporting system wrote itself.

Everything here returns a safe empty value instead of raising, because what arrives at a bounce address
is written by strangers: half-written MIME, 8-bit headers, unknown charsets.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import re
from collections.abc import Iterator
from email.message import Message
from email.utils import getaddresses, parseaddr
from html import unescape

MAX_BYTES = 1024 * 1024  # a report comes first; past this is the returned original, not needed
MAX_PARTS = 200
MAX_TEXT = 64 * 1024
# RFC 5322 caps a line at 998 characters. Longer lines are folded before parsing so the pattern-based
# bounce detectors never scan one very long line (several of their patterns are quadratic in its length).
_LONG_LINE = re.compile(rb"[^\r\n]{998}(?=[^\r\n])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ADDRESS = re.compile(r"[^\s@<>()\[\],;:\"\\]{1,64}@[^\s@<>()\[\],;:\"\\]{1,253}")
# Where a bounce that quotes the original inline (Exim, qmail, Yahoo, old Gmail, Exchange) stops speaking.
_ORIGINAL_FOLLOWS = re.compile(
    r"^[ \t>-]*(?:this is a copy of the message|below this line is a copy of the message"
    r"|original message follows|original message headers|-+ original message -+)",
    re.IGNORECASE | re.MULTILINE,
)
_TAG = re.compile(r"<[^<>]{0,2000}>")
_ORIGINAL_TYPES = frozenset({"message/rfc822", "text/rfc822-headers", "message/rfc822-headers"})


def parse(data: bytes) -> Message:
    """The message, read with the lenient compat32 policy (it keeps going where the default one raises),
    every header field of the report's parts made plain text."""
    data = _LONG_LINE.sub(lambda found: found.group(0) + b"\n ", data[:MAX_BYTES])
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    for part in report_parts(msg):
        _plain_fields(part)
    return msg


def _plain_fields(part: Message) -> None:
    """compat32 hands out a field with 8-bit bytes as a Header object, which flufl.bounce's detectors call
    ``.lower()`` on; each such field is replaced by its text, in place and in order."""
    items = part.items()
    if all(isinstance(value, str) for _, value in items):
        return
    for name in set(part.keys()):
        del part[name]
    for name, value in items:
        part[name] = value if isinstance(value, str) else _field_text(value)


def clean(text: str) -> str:
    """``text`` as valid Unicode without control characters (a database rejects NUL and lone surrogates)."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "replace")
    return _CONTROL.sub("", raw.decode("utf-8", "replace"))


def one_line(text: str | None, limit: int = 500) -> str | None:
    """``text`` with its whitespace collapsed, cut to ``limit`` characters; None when nothing is left."""
    if not text:
        return None
    line = " ".join(clean(text).split())[:limit]
    return line or None


def _decoded(chunk: bytes | str, charset: str | None) -> str:
    if isinstance(chunk, str):
        return chunk
    if charset and charset != "unknown-8bit":
        try:
            return chunk.decode(charset, "replace")
        except LookupError:
            pass
    return chunk.decode("utf-8", "replace")


def _field_text(value: object) -> str:
    """One field value as a single line, RFC 2047 words decoded; 8-bit bytes read as UTF-8."""
    try:
        header = value if isinstance(value, email.header.Header) else str(value)
        text = "".join(_decoded(chunk, charset) for chunk, charset in email.header.decode_header(header))
    except Exception:  # malformed encoded words: keep the raw value
        text = str(value)
    return " ".join(clean(text).split())


def fields(msg: Message, name: str) -> list[str]:
    """Every ``name`` field of ``msg`` as clean text, in order."""
    try:
        values = msg.get_all(name) or []
    except Exception:
        return []
    return [_field_text(value) for value in values]


def field(msg: Message, name: str) -> str:
    """The first ``name`` field as clean text, '' when absent."""
    values = fields(msg, name)
    return values[0] if values else ""


def content_type(msg: Message) -> str:
    try:
        return msg.get_content_type()
    except Exception:
        return "text/plain"


def report_type(msg: Message) -> str:
    """The ``report-type`` of a multipart/report, lower-cased; '' for anything else."""
    try:
        value = msg.get_param("report-type", "")
    except Exception:
        return ""
    return value.strip().lower() if isinstance(value, str) else ""


def address(value: str | None) -> str | None:
    """``rfc822; <Ana@Example.net>`` -> ``ana@example.net``; None unless one plausible address is left."""
    if not value:
        return None
    text = value.strip()
    kind, sep, rest = text.partition(";")
    if sep and "@" not in kind:  # an RFC 3464 address-type prefix
        text = rest.strip()
    _, found = parseaddr(text)
    found = found.strip().strip("<>").lower()
    return found if _ADDRESS.fullmatch(found) else None


def single_address(value: str) -> str | None:
    """The address in a To-like field when it names exactly one."""
    try:
        named = [address(found) for _, found in getaddresses([value])]
    except Exception:
        return None
    found = [a for a in named if a]
    return found[0] if len(found) == 1 else None


def report_parts(msg: Message) -> Iterator[Message]:
    """``msg`` and its MIME parts, in order, never descending into an attached message: what is inside the
    returned original (our own digest) must not be read as the report."""
    stack = [msg]
    seen = 0
    while stack and seen < MAX_PARTS:
        part = stack.pop()
        seen += 1
        yield part
        if content_type(part).startswith("multipart/") and part.is_multipart():
            children = [child for child in part.get_payload() if isinstance(child, Message)]
            stack.extend(reversed(children))


def part_text(part: Message) -> str:
    """A leaf part's body, transfer-decoded and read in its charset; '' when it cannot be read."""
    try:
        payload = part.get_payload(decode=True)
        charset = part.get_content_charset() or "utf-8"
    except Exception:
        return ""
    if not isinstance(payload, bytes):
        return ""
    try:
        return clean(payload[:MAX_TEXT].decode(charset, "replace"))
    except LookupError:
        return clean(payload[:MAX_TEXT].decode("utf-8", "replace"))


def embedded(part: Message) -> Message | None:
    """The message inside a ``message/*`` part, or parsed from the text of a ``text/rfc822-headers`` one."""
    payload = part.get_payload()
    if isinstance(payload, list):
        first = payload[0] if payload else None
        return first if isinstance(first, Message) else None
    text = part_text(part)
    return email.message_from_string(text, policy=email.policy.compat32) if text.strip() else None


def original(msg: Message) -> Message | None:
    """The returned original (or its headers) a bounce or complaint carries, if any."""
    for part in report_parts(msg):
        if content_type(part) in _ORIGINAL_TYPES:
            return embedded(part)
    return None


def own_text(msg: Message) -> str:
    """What the reporting system wrote: its text parts (HTML stripped of tags when there is no plain text),
    cut where an inline copy of the original begins."""
    plain: list[str] = []
    html: list[str] = []
    for part in report_parts(msg):
        kind = content_type(part)
        if kind == "text/plain":
            plain.append(part_text(part))
        elif kind == "text/html":
            html.append(unescape(_TAG.sub(" ", part_text(part))))
    text = "\n".join(plain or html)
    if cut := _ORIGINAL_FOLLOWS.search(text):
        text = text[: cut.start()]
    return text[:MAX_TEXT]
