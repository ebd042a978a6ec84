"""Build a digest's MIME message once, then personalise it per subscriber as bytes.

Building a message with the ``email`` package costs milliseconds, so :func:`build_message_template` builds
ONE RFC 5322 message (ASCII, CRLF) in which every per-subscriber value is a *slot marker*, and
:meth:`PreparedMessage.render` fills the markers from pre-split chunks with ``b"".join`` (microseconds).

A marker reads ``%%DISTRO:<context>.<slot>[.<arg>]%%``: only characters that survive HTML escaping, MJML,
premailer and URL attributes, and that quoted-printable leaves alone. The context says how a value is
encoded where the marker stands:

``header``  header-safe: no CR/LF or controls; RFC 2047 encoded words for non-ASCII names;
``text``    quoted-printable (``=`` becomes ``=3D``, lines stay <= 76) in the text/plain part;
``html``    HTML-escaped, then quoted-printable, in the text/html part.

Bodies are quoted-printable encoded here rather than by the ``email`` package so that each marker stands on
a line of its own between soft line breaks (``=\\r\\n``) and cannot be split. The ``greeting_name`` marker
carries the digest's fallback greeting as its ``arg`` (URL-safe base64), so a stored template is
self-contained.
"""

from __future__ import annotations

import base64
import html as html_lib
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address
from email.policy import SMTP
from email.utils import quote
from typing import NamedTuple

from distro.compose.quoted_printable import qp_line, qp_value
from distro.settings import Settings

BODY_SLOTS = ("email", "greeting_name", "unsubscribe_url", "unsubscribe_mailto", "preferences_url", "reader")
HEADER_SLOTS = ("to", "message_id", "date", "unsubscribe_url", "unsubscribe_mailto")
_PREFIX = "%%DISTRO:"
_MARKER = re.compile(r"%%DISTRO:(html|text|header)\.([a-z_]+)(?:\.([A-Za-z0-9_-]+))?%%")
_ANY_MARKER = re.compile(r"(%%DISTRO:[^%\s]*%%)")
_BAD_IN_URI = re.compile(r"[\s<>\x00-\x1f\x7f]")  # also for Message-IDs
_BAD_IN_EMAIL = re.compile(r"[\s<>,;:()\"\\\[\]\x00-\x1f\x7f]")  # one plain addr-spec, nothing else
_BAD_IN_HEADER = re.compile(r"[\x00-\x1f\x7f]")
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")  # a phrase that needs no quoting
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True, slots=True)
class Personal:
    """What differs per subscriber. ``message_id`` has angle brackets; ``date`` is RFC 5322.

    ``unsubscribe_mailto`` is a ``mailto:`` URI (a bare address gets the prefix); when None, the mailto
    form is left out of List-Unsubscribe and body slots using it render empty.
    """

    email: str
    name: str | None
    unsubscribe_url: str
    unsubscribe_mailto: str | None
    message_id: str
    date: str
    preferences_url: str | None = None  # body slots using it render empty when None
    reader: str | None = None  # signed reader token of tracked links, only with tracking.per_reader


@dataclass(frozen=True, slots=True)
class SubscriberSlots:
    """Passed to templates as ``subscriber``: each attribute is the marker of that slot."""

    email: str
    greeting_name: str
    unsubscribe_url: str
    unsubscribe_mailto: str
    preferences_url: str
    reader: str


def subscriber_slots(context: str = "html", *, greeting_fallback: str = "reader") -> SubscriberSlots:
    """Markers for a template whose output goes into the ``context`` ("html" or "text") part."""
    if context not in ("html", "text"):
        raise ValueError(f"unknown slot context {context!r}")
    arg = base64.urlsafe_b64encode(greeting_fallback.encode("utf-8")).decode("ascii").rstrip("=")
    return SubscriberSlots(*(_marker(context, s, arg if s == "greeting_name" else "") for s in BODY_SLOTS))


def _marker(context: str, slot: str, arg: str = "") -> str:
    return f"{_PREFIX}{context}.{slot}{'.' + arg if arg else ''}%%"


def _parse_marker(marker: str) -> tuple[str, str, str]:
    """(context, slot, decoded arg) of a marker; ValueError when it is unknown or damaged."""
    match = _MARKER.fullmatch(marker)
    allowed = HEADER_SLOTS if match and match[1] == "header" else BODY_SLOTS
    if match is None or match[2] not in allowed:
        raise ValueError(f"unknown or damaged slot marker {marker!r}")
    arg = match[3] or ""
    try:
        return match[1], match[2], base64.urlsafe_b64decode(arg + "=" * (-len(arg) % 4)).decode("utf-8")
    except ValueError as exc:
        raise ValueError(f"damaged slot marker {marker!r}") from exc


def defuse(content: str, *, url: bool = False) -> str:
    """``content`` from a feed (title, summary, URL) with anything shaped like a slot marker made inert.

    Text gets an invisible WORD JOINER inside "%%"; in a URL, where "%%" is never valid, it is escaped.
    """
    if _PREFIX not in content:
        return content
    return content.replace(_PREFIX, "%25%25DISTRO:" if url else "%\u2060%DISTRO:")


def check_markers(content: str, context: str) -> None:
    """ValueError when ``content`` holds a damaged marker or one meant for another part."""
    found = _ANY_MARKER.findall(content)
    for marker in found:
        if _parse_marker(marker)[0] != context:
            raise ValueError(f"slot marker {marker!r} found in the {context} part")
    if content.count(_PREFIX) != len(found):
        raise ValueError(f"a damaged slot marker ({_PREFIX}...) is in the {context} part")


def build_message_template(
    *,
    settings: Settings,
    slug: str,
    subject: str,
    html: str,
    text: str,
    list_id: str | None = None,
    list_label: str | None = None,
) -> str:
    """The digest as one multipart/alternative message (ASCII, CRLF, text then html) with slot markers.

    ``list_id`` is the newsletter's (:meth:`~distro.settings.Settings.list_id_of`; None: the main
    digest's ``email.list_id``); ``list_label`` its phrase (None: the publication's name). Static headers
    are encoded and folded by ``email.policy.SMTP``.
    ValueError for a damaged marker.
    """
    check_markers(html, "html")
    check_markers(text, "text")
    email, publication = settings.email, settings.publication
    list_id = list_id or email.list_id
    mailto = _marker("header", "unsubscribe_mailto") if email.unsubscribe_mailto else ""
    feedback = ":".join(part.replace(":", "-") for part in (slug, "digest", list_id, "distro"))
    boundary = f"=_distro_{secrets.token_hex(12)}"  # "=_" never occurs in quoted-printable text
    lines = [
        _fold("From", Address(display_name=_one_line(email.from_name), addr_spec=email.from_address)),
        f"To: {_marker('header', 'to')}\r\n",
        _fold("Reply-To", email.reply_to) if email.reply_to else "",
        _fold("Subject", _one_line(subject)),
        f"Date: {_marker('header', 'date')}\r\n",
        f"Message-ID: {_marker('header', 'message_id')}\r\n",
        "MIME-Version: 1.0\r\n",
        _fold("Content-Language", publication.language),
        _fold("List-Id", f"{_phrase(list_label or publication.name)} <{list_id}>"),
        f"List-Unsubscribe: <{_marker('header', 'unsubscribe_url')}>{mailto}\r\n",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
        f"Feedback-ID: {_one_line(feedback)}\r\n",  # one token: never folded before its value
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n',
    ]
    for subtype, body in (("plain", text), ("html", html)):
        lines.append(f'--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n')
        lines.append(f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{_qp_body(body)}\r\n")
    lines.append(f"--{boundary}--\r\n")
    return "".join(lines)


def _fold(name: str, value: object) -> str:
    return str(SMTP.header_factory(name, value).fold(policy=SMTP))


def _one_line(value: str) -> str:
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


def _phrase(name: str) -> str:
    name = _one_line(name)
    if not name.isascii() or _ATOMS.fullmatch(name):
        return name  # non-ASCII becomes encoded words when folded; atoms need no quotes
    return f'"{quote(name)}"'


def _qp_body(content: str) -> str:
    """Quoted-printable ``content`` with CRLF line ends and each marker alone between soft breaks."""
    out: list[str] = []
    pieces = _ANY_MARKER.split(content.replace("\r\n", "\n").replace("\r", "\n"))
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            out.append("\r\n".join(qp_line(line) for line in piece.split("\n")))
            continue
        if out and out[-1] and not out[-1].endswith("\r\n"):
            out.append("=\r\n")  # the marker starts a physical line of its own
        out.append(piece + "=\r\n")
    return "".join(out)


class _Clean(NamedTuple):
    """A subscriber's values, validated and made header-safe once per render."""

    email: str
    name: str | None
    unsubscribe_url: str
    unsubscribe_mailto: str | None
    message_id: str
    date: str
    preferences_url: str | None
    reader: str | None


def _clean(personal: Personal) -> _Clean:
    mailto = personal.unsubscribe_mailto
    if mailto is not None and not mailto.lower().startswith("mailto:"):
        mailto = f"mailto:{mailto}"
    message_id, date = personal.message_id, personal.date
    if message_id[:1] != "<" or message_id[-1:] != ">" or _BAD_IN_URI.search(message_id[1:-1]):
        raise ValueError(f"message_id must look like <id@domain>, got {message_id!r}")
    if not date or not date.isascii() or _BAD_IN_HEADER.search(date):
        raise ValueError(f"date must be an RFC 5322 date on one line, got {date!r}")
    return _Clean(
        _address(personal.email),
        _clean_name(personal.name),
        _uri(personal.unsubscribe_url, "unsubscribe_url"),
        None if mailto is None else _uri(mailto, "unsubscribe_mailto"),
        message_id,
        date,
        None if personal.preferences_url is None else _uri(personal.preferences_url, "preferences_url"),
        None if personal.reader is None else _uri(personal.reader, "reader"),
    )


def _address(value: str) -> str:
    local, _, domain = value.rpartition("@")
    if not local or not domain or _BAD_IN_EMAIL.search(value):
        raise ValueError(f"not a usable email address: {value!r}")
    if value.isascii():
        return value
    if not local.isascii():
        raise ValueError(f"address {value!r} needs SMTPUTF8, which digests do not use")
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def _uri(value: str, what: str) -> str:
    if not value or not value.isascii() or _BAD_IN_URI.search(value):
        raise ValueError(f"{what} must be an ASCII URI without spaces or angle brackets: {value!r}")
    return value


def _clean_name(name: str | None) -> str | None:
    """The name without control, line-separator or bidi-override characters; None when nothing is left."""
    if not name:
        return None
    if not name.isprintable():
        name = "".join(
            " " if ch.isspace() else ch
            for ch in name
            if ch.isspace() or (unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS)
        )
    return " ".join(name.split()) or None


def _header_to(clean: _Clean) -> str:
    name, address = clean.name, clean.email
    if name is None:
        return address
    if not name.isascii() or "=?" in name:  # many readers decode "=?...?=" even inside quotes
        phrase = "\r\n ".join(_encoded_words(name))
    else:
        phrase = name if _ATOMS.fullmatch(name) else f'"{quote(name)}"'
    return f"{phrase}\r\n <{address}>" if len(phrase) + len(address) > 68 else f"{phrase} <{address}>"


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 "B" encoded words of at most 45 UTF-8 bytes (72 characters) each, split between characters."""
    if len(text.encode("utf-8")) <= 45:
        return [f"=?utf-8?b?{base64.b64encode(text.encode('utf-8')).decode('ascii')}?="]
    chunks, chunk = [], ""
    for ch in text:
        if len((chunk + ch).encode("utf-8")) > 45:
            chunks.append(chunk)
            chunk = ""
        chunk += ch
    chunks.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(c.encode('utf-8')).decode('ascii')}?=" for c in chunks]


def _plain(clean: _Clean, slot: str, arg: str) -> str:
    """The unencoded value of a body slot."""
    if slot == "greeting_name":
        return clean.name or arg
    if slot in ("unsubscribe_mailto", "preferences_url", "reader"):
        return getattr(clean, slot) or ""
    return str(getattr(clean, slot))


def _header(clean: _Clean, slot: str) -> str:
    if slot == "to":
        return _header_to(clean)
    if slot == "unsubscribe_mailto":
        return f",\r\n <{clean.unsubscribe_mailto}>" if clean.unsubscribe_mailto else ""
    return str(getattr(clean, slot))


def _encode(clean: _Clean, context: str, slot: str, arg: str) -> bytes:
    if context == "header":
        return _header(clean, slot).encode("ascii")
    if context == "text":
        return qp_value(_plain(clean, slot, arg))
    return qp_value(html_lib.escape(_plain(clean, slot, arg)))


class PreparedMessage:
    """A message template split once into static chunks and slots; keep one per digest."""

    __slots__ = ("_chunks", "_positions", "_markers")

    def __init__(
        self, chunks: list[bytes], positions: list[tuple[int, int]], markers: list[tuple[str, str, str]]
    ):
        self._chunks = chunks
        self._positions = positions  # (index in chunks, index in markers)
        self._markers = markers  # distinct (context, slot, arg)

    @classmethod
    def from_template(cls, template: str) -> PreparedMessage:
        """Split a template from :func:`build_message_template`; ValueError if a marker is damaged."""
        chunks: list[bytes] = []
        positions: list[tuple[int, int]] = []
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
            positions.append((len(chunks), markers.index(key)))
            chunks.append(b"")
        return cls(chunks, positions, markers)

    def render(self, personal: Personal) -> bytes:
        """The whole message for one subscriber: ASCII, CRLF, ready for SMTP DATA (not dot-stuffed).

        ValueError for an unusable address, URL, Message-ID or Date: never a malformed message.
        """
        clean = _clean(personal)
        values = [_encode(clean, *key) for key in self._markers]
        chunks = self._chunks.copy()
        for index, marker in self._positions:
            chunks[index] = values[marker]
        return b"".join(chunks)


def fill_slots(text: str, value: Callable[[str, str, str], str]) -> str:
    """``text`` with each marker replaced by ``value(context, slot, decoded arg)``, which encodes it for
    its context; ValueError for a damaged or unknown marker."""
    return _ANY_MARKER.sub(lambda match: value(*_parse_marker(match[0])), text)


def fill_preview(text: str, personal: Personal) -> str:
    """``ComposedDigest.html`` or ``.text`` with the slots filled, as the subscriber will read it."""
    clean = _clean(personal)

    def fill(context: str, slot: str, arg: str) -> str:
        if context == "header":
            return _header(clean, slot)
        value = _plain(clean, slot, arg)
        return html_lib.escape(value) if context == "html" else value

    return fill_slots(text, fill)
