"""Build a digest's MIME message once, then personalise it per subscriber as bytes.

Building a message with the ``email`` package costs milliseconds; a digest goes to many subscribers, so
:func:`build_message_template` builds ONE RFC 5322 message (ASCII, CRLF) in which every per-subscriber
value is a *slot marker*, and :meth:`PreparedMessage.render` fills the markers with pre-split chunks and
``b"".join`` (microseconds, no ``email`` package).

A marker reads ``%%DISTRO:<context>.<slot>[.<arg>]%%``. It uses only characters that survive HTML
escaping, MJML, premailer and URL attributes, and never needs quoted-printable escaping. The context says
how a value is encoded where the marker stands:

``header``  header-safe text: no CR/LF or controls, RFC 2047 encoded words for non-ASCII names;
``text``    quoted-printable (``=`` becomes ``=3D``, lines stay <= 76) in the text/plain part;
``html``    HTML-escaped, then quoted-printable, in the text/html part.

Bodies are quoted-printable encoded here, not by the ``email`` package, so that each marker stands on a
line of its own between soft line breaks (``=\\r\\n``) and nothing can split it. The ``greeting_name``
marker carries the digest's fallback greeting as its ``arg`` (URL-safe base64), so a stored template is
self-contained.
"""

from __future__ import annotations

import base64
import html as html_lib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from email.headerregistry import Address
from email.policy import SMTP
from email.utils import quote

from distro.settings import Settings

BODY_SLOTS = ("email", "greeting_name", "unsubscribe_url", "unsubscribe_mailto")
HEADER_SLOTS = ("to", "message_id", "date", "unsubscribe_url", "unsubscribe_mailto")
_PREFIX = "%%DISTRO:"
_MARKER = re.compile(r"%%DISTRO:(html|text|header)\.([a-z_]+)(?:\.([A-Za-z0-9_-]+))?%%")
_ANY_MARKER = re.compile(r"(%%DISTRO:[^%\s]*%%)")
_QP_UNSAFE = re.compile(rb"[^\x20-\x3c\x3e-\x7e]")  # everything but printable ASCII other than "="
_QP_ESCAPES = [b"=%02X" % byte for byte in range(256)]
_QP_WIDTH = 75  # characters before a soft break "=", so every line is <= 76
_BAD_IN_ADDRESS = re.compile(r"[\s<>\x00-\x1f\x7f]")
_BAD_IN_HEADER = re.compile(r"[\x00-\x1f\x7f]")
_ATEXT_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True, slots=True)
class Personal:
    """What differs per subscriber. ``message_id`` has angle brackets; ``date`` is RFC 5322.

    ``unsubscribe_mailto`` is a ``mailto:`` URI (or a bare address); when None, the mailto form is left
    out of List-Unsubscribe and body slots using it render empty.
    """

    email: str
    name: str | None
    unsubscribe_url: str
    unsubscribe_mailto: str | None
    message_id: str
    date: str


@dataclass(frozen=True, slots=True)
class SubscriberSlots:
    """Passed to templates as ``subscriber``: each attribute is the marker of that slot."""

    email: str
    greeting_name: str
    unsubscribe_url: str
    unsubscribe_mailto: str


def subscriber_slots(context: str = "html", *, greeting_fallback: str = "reader") -> SubscriberSlots:
    """Markers for templates rendering into ``context`` ("html" or "text")."""
    if context not in ("html", "text"):
        raise ValueError(f"unknown slot context {context!r}")
    arg = base64.urlsafe_b64encode(greeting_fallback.encode("utf-8")).decode("ascii").rstrip("=")
    return SubscriberSlots(
        email=_marker(context, "email"),
        greeting_name=_marker(context, "greeting_name", arg),
        unsubscribe_url=_marker(context, "unsubscribe_url"),
        unsubscribe_mailto=_marker(context, "unsubscribe_mailto"),
    )


def _marker(context: str, slot: str, arg: str = "") -> str:
    return f"{_PREFIX}{context}.{slot}{'.' + arg if arg else ''}%%"


def _parse_marker(marker: str) -> tuple[str, str, str]:
    match = _MARKER.fullmatch(marker)
    allowed = HEADER_SLOTS if match and match[1] == "header" else BODY_SLOTS
    if match is None or match[2] not in allowed:
        raise ValueError(f"unknown or damaged slot marker {marker!r}")
    return match[1], match[2], match[3] or ""


def check_markers(content: str, context: str) -> None:
    """Raise ValueError when ``content`` holds a marker that is damaged or belongs to another context."""
    for piece in _ANY_MARKER.findall(content):
        if _parse_marker(piece)[0] != context:
            raise ValueError(f"slot marker {piece!r} found in the {context} part")
    if content.count(_PREFIX) != len(_ANY_MARKER.findall(content)):
        raise ValueError(f"a damaged slot marker ({_PREFIX}...) is in the {context} part")


# ---------------------------------------------------------------- building the template (once per digest)


def build_message_template(*, settings: Settings, slug: str, subject: str, html: str, text: str) -> str:
    """The digest as one multipart/alternative message (ASCII, CRLF) with slot markers.

    Raises ValueError when ``html`` or ``text`` carry a damaged marker.
    """
    check_markers(html, "html")
    check_markers(text, "text")
    email, publication = settings.email, settings.publication
    lines = [_fold("From", Address(display_name=email.from_name, addr_spec=email.from_address))]
    lines.append(f"To: {_marker('header', 'to')}\r\n")
    if email.reply_to:
        lines.append(_fold("Reply-To", email.reply_to))
    lines.append(_fold("Subject", _one_line(subject)))
    lines.append(f"Date: {_marker('header', 'date')}\r\n")
    lines.append(f"Message-ID: {_marker('header', 'message_id')}\r\n")
    lines.append(_fold("MIME-Version", "1.0"))
    lines.append(_fold("Content-Language", publication.language))
    lines.append(_fold("List-Id", f"{_phrase(publication.name)} <{email.list_id}>"))
    mailto = _marker("header", "unsubscribe_mailto") if email.unsubscribe_mailto else ""
    lines.append(f"List-Unsubscribe: <{_marker('header', 'unsubscribe_url')}>{mailto}\r\n")
    lines.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
    feedback = ":".join(part.replace(":", "-") for part in (slug, "digest", email.list_id, "distro"))
    lines.append(_fold("Feedback-ID", feedback))
    # "=_" never occurs in quoted-printable text, so the boundary cannot collide with a body.
    boundary = f"=_distro_{secrets.token_hex(12)}"
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n')
    lines.append("\r\n")
    for subtype, body in (("plain", text), ("html", html)):
        lines.append(f"--{boundary}\r\n")
        lines.append(f'Content-Type: text/{subtype}; charset="utf-8"\r\n')
        lines.append("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
        lines.append(_qp_body(body))
        lines.append("\r\n")
    lines.append(f"--{boundary}--\r\n")
    return "".join(lines)


def _fold(name: str, value: object) -> str:
    """One header, encoded (RFC 2047) and folded by ``email.policy.SMTP`` (CRLF, <= 78 where possible)."""
    return str(SMTP.header_factory(name, value).fold(policy=SMTP))


def _one_line(value: str) -> str:
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


def _phrase(name: str) -> str:
    name = _one_line(name)
    if not name.isascii() or _ATEXT_PHRASE.fullmatch(name):
        return name  # non-ASCII becomes an encoded word when folded; plain atoms need no quotes
    return f'"{quote(name)}"'


def _qp_body(content: str) -> str:
    """Quoted-printable ``content`` (CRLF) with each marker alone between soft line breaks."""
    out: list[str] = []
    pieces = _ANY_MARKER.split(content.replace("\r\n", "\n").replace("\r", "\n"))
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            out.append(_qp_encode(piece).decode("ascii"))
            continue
        if out and out[-1] and not out[-1].endswith("\r\n"):
            out.append("=\r\n")
        out.append(piece + "=\r\n")
    return "".join(out)


def _qp_encode(content: str) -> bytes:
    """Quoted-printable for text: every line <= 75 characters plus a soft break, hard breaks as CRLF."""
    lines = []
    for line in content.split("\n"):
        encoded = _QP_UNSAFE.sub(lambda m: _QP_ESCAPES[m[0][0]], line.encode("utf-8"))
        if encoded.endswith(b" "):
            encoded = encoded[:-1] + b"=20"  # trailing whitespace would be stripped in transit
        lines.append(b"=\r\n".join(_qp_fold(encoded)))
    return b"\r\n".join(lines)


def _qp_fold(encoded: bytes) -> list[bytes]:
    pieces, start = [], 0
    while len(encoded) - start > _QP_WIDTH:
        cut = start + _QP_WIDTH
        # every "=" starts a 3-character escape; never cut one in half
        if encoded[cut - 1] == 0x3D:
            cut -= 1
        elif encoded[cut - 2] == 0x3D:
            cut -= 2
        pieces.append(encoded[start:cut])
        start = cut
    pieces.append(encoded[start:])
    return pieces


# ---------------------------------------------------------------- per subscriber


@dataclass(frozen=True, slots=True)
class _Clean:
    """A subscriber's values, validated and made safe once per render."""

    email: str
    name: str | None
    unsubscribe_url: str
    unsubscribe_mailto: str | None
    message_id: str
    date: str


def _clean(personal: Personal) -> _Clean:
    address = _address(personal.email)
    name = _clean_name(personal.name)
    mailto = personal.unsubscribe_mailto
    if mailto is not None:
        mailto = _uri(mailto if mailto.lower().startswith("mailto:") else f"mailto:{mailto}", "mailto")
    message_id = personal.message_id
    if not (message_id.startswith("<") and message_id.endswith(">")) or _BAD_IN_ADDRESS.search(
        message_id[1:-1]
    ):
        raise ValueError(f"message_id must look like <id@domain>, got {message_id!r}")
    if not personal.date or not personal.date.isascii() or _BAD_IN_HEADER.search(personal.date):
        raise ValueError(f"date must be an RFC 5322 date on one line, got {personal.date!r}")
    url = _uri(personal.unsubscribe_url, "unsubscribe_url")
    return _Clean(address, name, url, mailto, message_id, personal.date)


def _address(value: str) -> str:
    if not value or _BAD_IN_ADDRESS.search(value) or value.count("@") < 1:
        raise ValueError(f"not a usable email address: {value!r}")
    if value.isascii():
        return value
    local, _, domain = value.rpartition("@")
    if not local.isascii():
        raise ValueError(f"address {value!r} needs SMTPUTF8, which digests do not use")
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def _uri(value: str, what: str) -> str:
    if not value or not value.isascii() or _BAD_IN_ADDRESS.search(value):
        raise ValueError(f"{what} must be an ASCII URI without spaces or angle brackets: {value!r}")
    return value


def _clean_name(name: str | None) -> str | None:
    """The name without control, line-separator or bidi-override characters; None when nothing is left."""
    if not name:
        return None
    if not name.isprintable():
        name = "".join(
            " " if unicodedata.category(ch) in ("Zs", "Zl", "Zp") or ch in "\t\r\n" else ch
            for ch in name
            if unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS
        )
    name = " ".join(name.split())
    return name or None


def _header_to(clean: _Clean) -> str:
    if clean.name is None:
        return clean.email
    if clean.name.isascii():
        phrase = clean.name if _ATEXT_PHRASE.fullmatch(clean.name) else f'"{quote(clean.name)}"'
    else:
        phrase = "\r\n ".join(_encoded_words(clean.name))
    line = f"{phrase} <{clean.email}>"
    return f"{phrase}\r\n <{clean.email}>" if len(line) > 70 else line


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 "B" encoded words of at most 45 UTF-8 bytes each (72 characters), split between characters."""
    words, chunk, size = [], [], 0
    for ch in text:
        width = len(ch.encode("utf-8"))
        if size + width > 45:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(ch)
        size += width
    words.append("".join(chunk))
    return [f"=?utf-8?b?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in words]


def _slot_value(clean: _Clean, slot: str, arg: str) -> str:
    """The plain (unencoded) value of a body slot."""
    if slot == "greeting_name":
        return clean.name or base64.urlsafe_b64decode(arg + "=" * (-len(arg) % 4)).decode("utf-8")
    if slot == "unsubscribe_mailto":
        return clean.unsubscribe_mailto or ""
    value: str = getattr(clean, slot)
    return value


def _header_value(clean: _Clean, slot: str) -> str:
    if slot == "to":
        return _header_to(clean)
    if slot == "unsubscribe_mailto":
        return f",\r\n <{clean.unsubscribe_mailto}>" if clean.unsubscribe_mailto else ""
    value: str = getattr(clean, slot)
    return value


def _qp_value(value: str) -> bytes:
    data = value.encode("utf-8")
    if len(data) <= _QP_WIDTH and value.isascii() and value.isprintable() and "=" not in value:
        return data
    return b"=\r\n".join(_qp_fold(_QP_UNSAFE.sub(lambda m: _QP_ESCAPES[m[0][0]], data)))


def _encode(clean: _Clean, context: str, slot: str, arg: str) -> bytes:
    if context == "header":
        return _header_value(clean, slot).encode("ascii")
    value = _slot_value(clean, slot, arg)
    return _qp_value(html_lib.escape(value) if context == "html" else value)


class PreparedMessage:
    """A message template split once into static chunks and slots; cache one per digest."""

    __slots__ = ("_chunks", "_slots", "_markers")

    def __init__(self, chunks: list[bytes], slots: list[tuple[int, int]], markers: list[tuple[str, str, str]]):
        self._chunks = chunks
        self._slots = slots  # (index in chunks, index in markers)
        self._markers = markers  # distinct (context, slot, arg)

    @classmethod
    def from_template(cls, template: str) -> PreparedMessage:
        """Split ``template`` (from :func:`build_message_template`); ValueError if a marker is damaged."""
        chunks: list[bytes] = []
        slots: list[tuple[int, int]] = []
        markers: list[tuple[str, str, str]] = []
        for index, piece in enumerate(_ANY_MARKER.split(template)):
            if index % 2 == 0:
                if _PREFIX in piece:
                    raise ValueError(f"a damaged slot marker is in the template near {piece[:60]!r}")
                chunks.append(piece.encode("ascii"))
                continue
            key = _parse_marker(piece)
            if key not in markers:
                markers.append(key)
            slots.append((len(chunks), markers.index(key)))
            chunks.append(b"")
        return cls(chunks, slots, markers)

    def render(self, personal: Personal) -> bytes:
        """The complete message for one subscriber: ASCII, CRLF, ready for SMTP DATA (not dot-stuffed).

        Raises ValueError for an unusable address, URL, Message-ID or Date (never a broken message).
        """
        clean = _clean(personal)
        values = [_encode(clean, *key) for key in self._markers]
        chunks = self._chunks.copy()
        for index, marker in self._slots:
            chunks[index] = values[marker]
        return b"".join(chunks)


def fill_preview(text: str, personal: Personal) -> str:
    """``ComposedDigest.html`` or ``.text`` with the slots filled, as the subscriber will read it."""
    clean = _clean(personal)

    def fill(match: re.Match[str]) -> str:
        context, slot, arg = _parse_marker(match[0])
        if context == "header":
            return _header_value(clean, slot)
        value = _slot_value(clean, slot, arg)
        return html_lib.escape(value) if context == "html" else value

    return _ANY_MARKER.sub(fill, text)
