"""The subscriber CSV format, without the database: reading a file line by line, and formula-safe cells.

Reading never guesses an encoding: the file is UTF-8 (a BOM is allowed). A file that is UTF-16 or binary
is refused as a whole with :class:`ImportRefused`; a line that is not UTF-8, breaks the CSV quoting or
holds a field over the ``csv`` module's limit (128 KB) is reported by number and the reading goes on, so
the caller can check the whole file before it writes a row.

Cells a spreadsheet would run as a formula are written with a ``'`` in front (:func:`inert`), and
:func:`revive` takes exactly that ``'`` off again, so export then import gives back the same values.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator, Sequence
from io import BufferedReader
from pathlib import Path
from typing import TextIO

from distro.errors import InvalidInput

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_HEAD = 8192  # bytes looked at to tell UTF-16 or binary from text


class ImportRefused(InvalidInput):
    """The file as a whole cannot be imported (unreadable, UTF-16, binary, no header, database error);
    nothing was written."""


def inert(cell: str) -> str:
    """``cell`` as a spreadsheet shows it but never runs it.

    A cell that is already ``'`` before a formula start gets one more, so :func:`revive` can tell the
    ``'`` added here from one that belongs to the value.
    """
    return "'" + cell if cell.lstrip("'")[:1] in FORMULA_STARTS else cell


def revive(cell: str) -> str:
    """The value :func:`inert` was given: a ``'`` before a formula start (after any further ``'``) is
    taken off; every other cell is returned as it is."""
    return cell[1:] if cell[:1] == "'" and cell.lstrip("'")[:1] in FORMULA_STARTS else cell


def write_rows(handle: TextIO, rows: Iterable[Sequence[str]]) -> None:
    """Write ``rows`` as :func:`read_rows` reads them back: every cell through :func:`inert`, CRLF line
    ends (RFC 4180), since ``csv`` quotes a carriage return or newline in a cell only when it is one of
    the line-end characters."""
    csv.writer(handle, lineterminator="\r\n").writerows([inert(cell) for cell in row] for row in rows)


class _Lines:
    """The file's physical lines as text, numbered, for ``csv.reader``.

    A line that is not UTF-8 is passed on with its bytes escaped (so the CSV structure survives) and its
    first bad byte is noted under its number; the caller asks :meth:`problem` after each record. The
    running count of ``"`` lets the caller tell whether a failed record left a quoted field open.
    """

    def __init__(self, handle: BufferedReader, path: Path) -> None:
        self._handle, self._path = handle, path
        self.number = 0
        self.quotes = 0
        self._bad: dict[int, str] = {}
        _refuse_non_text(handle.peek(_HEAD)[:_HEAD], path)  # peek: a pipe works too

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self._handle.readline()
        if not raw:
            raise StopIteration
        self.number += 1
        if self.number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        if b"\0" in raw:
            raise ImportRefused(f"{self._path}: line {self.number} holds NUL bytes: a binary file, not CSV")
        self.quotes += raw.count(b'"')
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._bad[self.number] = (
                f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); save the file as UTF-8"
            )
            return raw.decode("utf-8", "surrogateescape")

    def problem(self, since: int) -> tuple[int, str] | None:
        """The first encoding problem on lines ``since`` onwards (forgetting all of them), if any."""
        found = sorted((n, reason) for n, reason in self._bad.items() if n >= since)
        for number, _ in found:
            del self._bad[number]
        return found[0] if found else None

    def skip_open_quote(self, quotes_before: int) -> None:
        """Read on to the line that closes a quoted field left open by a failed record.

        After an error ``csv.reader`` starts afresh on the next line, which may still be inside the quoted
        field; its lines must not be read as rows. Counting ``"`` is exact for well-formed quoting.
        """
        while (self.quotes - quotes_before) % 2 and next(self, None) is not None:
            pass


def _refuse_non_text(head: bytes, path: Path) -> None:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportRefused(
            f"{path} is UTF-16 (or UTF-32) text; save it as UTF-8 (CSV UTF-8) and import again"
        )
    if b"\0" not in head:
        return
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if min(even, odd) == 0 and max(even, odd) * 3 > len(head) // 2:  # ASCII letters with a NUL beside each
        raise ImportRefused(f"{path} is UTF-16 text; save it as UTF-8 (CSV UTF-8) and import again")
    raise ImportRefused(f"{path} is a binary file (it holds NUL bytes), not CSV; save the list as CSV UTF-8")


def _csv_problem(exc: csv.Error, first: int, last: int) -> str:
    message = str(exc)
    skipped = f"; lines {first}-{last} were read as part of it" if last > first else ""
    if message.startswith("field larger than field limit"):
        return f"field longer than {csv.field_size_limit() // 1024} KB{skipped}"
    if message.startswith("unexpected end of data"):
        return f"a quote opened here is never closed{skipped}"
    return f"not valid CSV ({message}){skipped}"


Record = tuple[int, dict[str, str] | str]


def read_rows(path: Path) -> Iterator[Record]:
    """``(line, cells)`` for each data row, cells by lower-cased header name (missing ones empty, formula
    prefixes taken off); ``(line, reason)`` for a line that cannot be read. ``line`` is where the row
    starts. Raises :class:`ImportRefused` when the file as a whole cannot be read.
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ImportRefused(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        lines = _Lines(handle, path)
        reader = csv.reader(lines, strict=True)
        columns = _header(reader, lines, path)
        while True:
            start, quotes = lines.number + 1, lines.quotes
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                lines.skip_open_quote(quotes)
                yield lines.problem(start) or (start, _csv_problem(exc, start, lines.number))
                continue
            problem = lines.problem(start)
            if problem is not None:
                yield problem
            elif cells:  # a blank line is no row
                yield start, {name: revive(cells[i]) if i < len(cells) else "" for name, i in columns.items()}


def _header(reader: Iterator[list[str]], lines: _Lines, path: Path) -> dict[str, int]:
    """Column positions by lower-cased name (the first of a repeated name wins)."""
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise ImportRefused(f"{path}: line 1 is not a CSV header ({exc})") from None
    problem = lines.problem(1)
    if problem is not None:
        raise ImportRefused(f"{path}: line 1: {problem[1]}")
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        columns.setdefault(name.strip().lower(), index)
    if "email" not in columns:
        raise ImportRefused(f"{path}: the first line must be a header with an 'email' column")
    return columns
