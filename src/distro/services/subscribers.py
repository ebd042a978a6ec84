"""Subscribers: add, import from CSV, list, export. Importing never re-subscribes someone who left.

The CSV format itself (encoding checks, line numbers, formula-safe cells) is in :mod:`.subscriber_csv`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

import email_validator
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from distro.app import App
from distro.errors import InvalidInput
from distro.models import Subscriber, SubscriberStatus, SuppressionReason, utcnow
from distro.progress import Ticker
from distro.services.activity import record
from distro.services.subscriber_csv import ImportRefused, read_rows, write_rows
from distro.services.suppression import suppressed_among
from distro.settings import DigestSettings, Settings
from distro.store import subscribers, suppressions

# Shown (and exported) for an address on the suppression list; not stored as a subscriber's status.
BOUNCED, SUPPRESSED = "bounced", "suppressed"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidSubscriber(InvalidInput):
    pass


def normalise_email(raw: str) -> str:
    """Syntax only (email-validator, no DNS): deliverability is the receiving server's call.

    ASCII only (no SMTPUTF8), so the address fits every SMTP envelope; the domain is lower-cased.
    """
    address = raw.strip()
    try:
        checked = email_validator.validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except email_validator.EmailNotValidError as exc:
        raise InvalidSubscriber(f"{address!r} is not a valid email address: {exc}") from None
    local, domain = (checked.ascii_email or checked.normalized).rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _clean_name(raw: str | None) -> str | None:
    name = _CONTROL.sub(" ", raw or "").strip()
    return name[:200] or None


def _sections(raw: str | None) -> list[str] | None:
    parts = [p.strip() for p in (raw or "").replace(",", ";").split(";") if p.strip()]
    return parts or None


def add_subscriber(
    app: App,
    email: str,
    name: str | None = None,
    sections: list[str] | None = None,
    newsletters: list[str] | None = None,
    *,
    unsubscribed: bool = False,
    actor: str | None = None,
) -> bool:
    """Add an active (or, from an export, an unsubscribed) subscriber; False if the address is already
    known (in any state).

    ``newsletters`` (slug prefixes) must all be configured; None means the default newsletters. With
    ``actor``, an added subscriber is in the activity record.
    """
    address = normalise_email(email)
    _check_newsletters(newsletters, [n.slug_prefix for n in app.settings.all_newsletters])
    blocked = suppressed_among(app.engine, [address])
    if blocked:
        reason = next(iter(blocked.values()))
        raise InvalidSubscriber(f"{address} is on the suppression list ({reason}); not subscribed")
    subscriber = Subscriber(
        email=address,
        name=_clean_name(name),
        sections=sections or None,
        newsletters=newsletters or None,
        status=SubscriberStatus.UNSUBSCRIBED if unsubscribed else SubscriberStatus.ACTIVE,
        unsubscribed_at=utcnow() if unsubscribed else None,
    )
    added = subscribers.add(app.engine, subscriber)
    if added:
        record(app, actor=actor, action="subscriber.create", subject=f"subscriber {address}")
    return added


def _check_newsletters(chosen: list[str] | None, configured: list[str]) -> None:
    unknown = [n for n in chosen or [] if n not in configured]
    if unknown:
        raise InvalidSubscriber(
            f"unknown newsletter {', '.join(unknown)} (configured: {', '.join(configured)})"
        )


@dataclass
class ImportReport:
    added: int = 0
    existing: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason), in line order


@dataclass(slots=True)
class _Row:
    """One checked CSV row, ready to write; ``block`` puts the address on the suppression list."""

    line: int
    email: str
    name: str | None
    sections: list[str] | None
    newsletters: list[str] | None
    unsubscribed: bool
    block: SuppressionReason | None


def import_csv(
    app: App, path: Path, *, progress: Ticker | None = None, actor: str | None = None, name: str | None = None
) -> ImportReport:
    """Read ``email,name,sections[,newsletters][,status]`` rows (lists separated by ``;``; newsletters by
    slug prefix, empty for the default ones), as ``export_csv`` writes them.

    The whole file is read and checked first; every bad line is reported with its number and reason, and
    the good rows are then written in one transaction: all of them, or none if the database fails
    (:class:`ImportRefused`, as for a file that cannot be read at all). An address already known is left
    as it is. A row whose status is ``unsubscribed``, ``bounced`` or ``suppressed`` stays unmailable (the
    last two go on the suppression list), so moving a list never re-subscribes or re-mails anyone.
    With ``actor``, the import and its counts are in the activity record (``name``: the file as the
    editor knows it, e.g. an upload's name).
    """
    report, rows = ImportReport(), []
    newsletters = [n.slug_prefix for n in app.settings.all_newsletters]
    for line, cells in read_rows(path):
        if progress is not None:
            progress.advance()
        if isinstance(cells, str):  # the line itself could not be read
            report.rejected.append((line, cells))
            continue
        try:
            rows.append(_checked(line, cells, newsletters))
        except InvalidSubscriber as exc:
            report.rejected.append((line, str(exc)))
    try:
        _write(app, rows, report)
    except sa.exc.SQLAlchemyError as exc:
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ImportRefused(f"{path}: nothing was imported: the database refused a write ({reason})") from exc
    report.rejected.sort()
    counts = f"{report.added} added, {report.existing} already known, {len(report.rejected)} lines rejected"
    subject = f"file {name or path.name}"
    record(app, actor=actor, action="subscriber.import", subject=subject, detail=counts)
    return report


_IMPORTED_STATUSES = (SubscriberStatus.ACTIVE, SubscriberStatus.UNSUBSCRIBED, BOUNCED, SUPPRESSED)
_BLOCKS = {BOUNCED: SuppressionReason.HARD_BOUNCE, SUPPRESSED: SuppressionReason.MANUAL}


def _checked(line: int, cells: dict[str, str], newsletters: list[str]) -> _Row:
    email = normalise_email(cells.get("email", ""))
    status = cells.get("status", "").strip().lower() or SubscriberStatus.ACTIVE
    if status not in _IMPORTED_STATUSES:
        raise InvalidSubscriber(f"status {status!r} is not one of {', '.join(_IMPORTED_STATUSES)}")
    chosen = _sections(cells.get("newsletters"))
    _check_newsletters(chosen, newsletters)
    block = _BLOCKS.get(status)
    # A bounced or suppressed row keeps its own status too: it stays unsubscribed if it had left.
    left = status == SubscriberStatus.UNSUBSCRIBED or (
        block is not None and bool(cells.get("unsubscribed_at", "").strip())
    )
    return _Row(
        line, email, _clean_name(cells.get("name")), _sections(cells.get("sections")), chosen, left, block
    )


_CHUNK = 500


def _write(app: App, rows: list[_Row], report: ImportReport) -> None:
    """Add the rows not already known in one transaction, a chunk at a time (Core inserts: on SQLite the
    transaction holds the write lock, so it must be short)."""
    if not rows:
        return
    now = utcnow()
    with app.engine.begin() as connection:
        for start in range(0, len(rows), _CHUNK):
            _write_chunk(connection, rows[start : start + _CHUNK], report, now)


def _write_chunk(connection: Connection, chunk: list[_Row], report: ImportReport, now: datetime) -> None:
    """One chunk of :func:`_write`. An active row for a suppressed address is rejected, as
    ``add_subscriber`` would; a bounced or suppressed row puts its address on the list."""
    keys = {row.email.lower() for row in chunk}
    known = subscribers.known(connection, keys)
    blocked = suppressions.reasons(connection, keys)
    added, blocks = [], []
    for row in chunk:
        key = row.email.lower()
        if key in known:
            report.existing += 1
        elif key in blocked and row.block is None and not row.unsubscribed:
            reason = f"{row.email} is on the suppression list ({blocked[key]}); not subscribed"
            report.rejected.append((row.line, reason))
        else:
            known.add(key)
            added.append(_subscriber(row, now))
            if row.block is not None and key not in blocked:
                blocked[key] = row.block
                blocks.append({"email": key, "reason": row.block, "detail": "CSV import", "created_at": now})
    report.added += len(added)
    subscribers.insert_many(connection, added)
    suppressions.insert(connection, blocks)


def _subscriber(row: _Row, now: datetime) -> dict[str, object]:
    return {
        "email": row.email,
        "name": row.name,
        "status": SubscriberStatus.UNSUBSCRIBED if row.unsubscribed else SubscriberStatus.ACTIVE,
        "sections": row.sections,
        "newsletters": row.newsletters,
        "created_at": now,
        "unsubscribed_at": now if row.unsubscribed else None,
        "hard_bounces": 0,
        "paused_until": None,
    }


def wants(subscriber: Subscriber, newsletter: DigestSettings) -> bool:
    """Whether the subscriber gets ``newsletter``: their choice, else the newsletter's default."""
    if subscriber.newsletters is None:
        return newsletter.subscribe_by_default
    return newsletter.slug_prefix in subscriber.newsletters


def receiving(settings: Settings, subscriber: Subscriber) -> list[DigestSettings]:
    """The configured newsletters the subscriber gets, in configuration order."""
    return [n for n in settings.all_newsletters if wants(subscriber, n)]


def active_subscribers(
    app: App, newsletter: DigestSettings | None = None, *, page_size: int = 1000
) -> Iterator[Subscriber]:
    """Every active, unpaused subscriber (of ``newsletter``, when given), in id order, a keyset page at a
    time (never all in memory)."""
    last_id, now = 0, utcnow()
    while page := subscribers.active_page(app.engine, after=last_id, limit=page_size, now=now):
        yield from (s for s in page if newsletter is None or wants(s, newsletter))
        last_id = page[-1].id or last_id


EXPORT_COLUMNS = ("email", "name", "sections", "newsletters", "status", "created_at", "unsubscribed_at")


def export_csv(app: App, handle: TextIO, *, page_size: int = 1000) -> int:
    """Every subscriber (any status) as CSV that ``import_csv`` reads back as the same list; returns the
    number of rows.

    ``status`` is ``bounced`` or ``suppressed`` for an address on the suppression list, so an exported
    list never re-mails it. Read a keyset page at a time, so a large list is never all in memory. Cells
    that a spreadsheet would run as a formula get a ``'`` in front (which import takes off again).
    """
    write_rows(handle, [EXPORT_COLUMNS])
    last_id, count = 0, 0
    while page := _listed(app, after=last_id, limit=page_size):
        write_rows(
            handle,
            (
                [
                    row.email,
                    row.name or "",
                    ";".join(row.sections or []),
                    ";".join(row.newsletters or []),
                    row.status,
                    row.created_at.isoformat(timespec="seconds"),
                    row.unsubscribed_at.isoformat(timespec="seconds") if row.unsubscribed_at else "",
                ]
                for row in page
            ),
        )
        count += len(page)
        last_id = page[-1].id
    return count


@dataclass(frozen=True, slots=True)
class Listed:
    """A subscriber as listings and exports show one: ``status`` is ``bounced`` (hard bounces) or
    ``suppressed`` (complaint, manual block) when the address is on the suppression list, whatever the
    subscriber row says, because nothing is sent to it."""

    id: int
    email: str
    name: str | None
    status: str
    sections: list[str] | None
    created_at: datetime
    unsubscribed_at: datetime | None
    hard_bounces: int
    paused_until: datetime | None
    newsletters: list[str] | None


def shown_status(status: str, suppression_reason: str | None) -> str:
    if suppression_reason is None:
        return status
    return BOUNCED if suppression_reason == SuppressionReason.HARD_BOUNCE else SUPPRESSED


def list_subscribers(app: App, *, limit: int = 1000) -> list[Listed]:
    return _listed(app, after=0, limit=limit)


def _listed(app: App, *, after: int, limit: int) -> list[Listed]:
    """Up to ``limit`` subscribers with ids above ``after``, in id order, each with its shown status."""
    return as_listed(subscribers.listed_page(app.engine, after=after, limit=limit))


def as_listed(rows: Iterable[tuple[Subscriber, str | None]]) -> list[Listed]:
    """(subscriber, suppression reason) rows as the lists show them (CLI, desk, API)."""
    return [
        Listed(
            id=s.id or 0,
            email=s.email,
            name=s.name,
            status=shown_status(s.status, reason),
            sections=s.sections,
            created_at=s.created_at,
            unsubscribed_at=s.unsubscribed_at,
            hard_bounces=s.hard_bounces,
            paused_until=s.paused_until,
            newsletters=s.newsletters,
        )
        for s, reason in rows
    ]
