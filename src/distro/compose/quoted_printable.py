"""Quoted-printable for the prebuilt message: lines of at most 76 characters, never a split escape.

The standard library's encoders fold at their own widths and treat CRLF loosely; the message template
needs soft breaks placed around its slot markers and values that end mid-line, so these are ours.
"""

from __future__ import annotations

import binascii
import re

_UNSAFE = re.compile(rb"[^\x20-\x3c\x3e-\x7e]")  # all but printable ASCII other than "="
WIDTH = 75  # characters before a soft break "=", so no line exceeds 76


def qp_line(line: str) -> str:
    encoded = _UNSAFE.sub(lambda m: b"=%02X" % m[0][0], line.encode("utf-8"))
    if encoded.endswith(b" "):
        encoded = encoded[:-1] + b"=20"  # trailing whitespace may be stripped in transit
    return "=\r\n".join(piece.decode("ascii") for piece in qp_fold(encoded))


def qp_fold(encoded: bytes) -> list[bytes]:
    pieces, start = [], 0
    while len(encoded) - start > WIDTH:
        cut = start + WIDTH
        if encoded[cut - 1] == 0x3D:  # every "=" starts a 3-character escape: never cut one in half
            cut -= 1
        elif encoded[cut - 2] == 0x3D:
            cut -= 2
        pieces.append(encoded[start:cut])
        start = cut
    pieces.append(encoded[start:])
    return pieces


def qp_value(value: str) -> bytes:
    """Quoted-printable of a one-line value that ends mid-line (the template's soft break follows)."""
    if value.isascii() and "=" not in value and len(value) <= WIDTH:
        return value.encode("ascii")  # values are free of control characters by now
    encoded = binascii.b2a_qp(value.encode("utf-8")).replace(b"=\n", b"")  # unfold, then fold to 75
    return encoded if len(encoded) <= WIDTH else b"=\r\n".join(qp_fold(encoded))
