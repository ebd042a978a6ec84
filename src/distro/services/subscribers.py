"""Subscribers: add, import from CSV, list. Importing never re-subscribes someone who left."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import email_validator
import sqlalchemy as sa
from sqlmodel import select

from distro.app import App
from distro.db import session_scope
from distro.errors import DistroError
from distro.models import Subscriber, SubscriberStatus, utcnow
from distro.progress import Ticker
from distro.services.suppression import suppressed_among
from distro.settings import DigestSettings, Settings

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidSubscriber(DistroError):
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
) -> bool:
    """Add an active (or, from an export, an unsubscribed) subscriber; False if the address is already
    known (in any state).

    ``newsletters`` (slug prefixes) must all be configured; None means the default newsletters.
    """
    address = normalise_email(email)
    known = [n.slug_prefix for n in app.settings.all_newsletters]
    unknown = [n for n in newsletters or [] if n not in known]
    if unknown:
        raise InvalidSubscriber(f"unknown newsletter {', '.join(unknown)} (configured: {', '.join(known)})")
    blocked = suppressed_among(app.engine, [address])
    if blocked:
        reason = next(iter(blocked.values()))
        raise InvalidSubscriber(f"{address} is on the suppression list ({reason}); not subscribed")
    with session_scope(app.engine) as session:
        exists = session.exec(select(Subscriber.id).where(sa.func.lower(Subscriber.email) == address.lower()))
        if exists.first() is not None:
            return False
        session.add(
            Subscriber(
                email=address,
                name=_clean_name(name),
                sections=sections or None,
                newsletters=newsletters or None,
                status=SubscriberStatus.UNSUBSCRIBED if unsubscribed else SubscriberStatus.ACTIVE,
                unsubscribed_at=utcnow() if unsubscribed else None,
            )
        )
    return True


@dataclass
class ImportReport:
    added: int = 0
    existing: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def import_csv(app: App, path: Path, *, progress: Ticker | None = None) -> ImportReport:
    """Read ``email,name,sections[,newsletters][,status]`` rows (lists separated by ``;``; newsletters by
    slug prefix, empty for the default ones); report each rejected line. A row whose status is
    ``unsubscribed`` (from ``export_csv``) is kept as unsubscribed, so moving a list never re-subscribes."""
    report = ImportReport()
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DistroError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "email" not in [f.strip().lower() for f in reader.fieldnames]:
            raise DistroError(f"{path}: the first line must be a header with an 'email' column")
        for row in reader:
            if progress is not None:
                progress.advance()
            row = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
            line = reader.line_num
            try:
                added = add_subscriber(
                    app,
                    row.get("email", ""),
                    row.get("name"),
                    _sections(row.get("sections")),
                    _sections(row.get("newsletters")),
                    unsubscribed=row.get("status", "").strip() == SubscriberStatus.UNSUBSCRIBED,
                )
            except InvalidSubscriber as exc:
                report.rejected.append((line, str(exc)))
                continue
            if added:
                report.added += 1
            else:
                report.existing += 1
    return report


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
    while True:
        with session_scope(app.engine) as session:
            page = list(
                session.exec(
                    select(Subscriber)
                    .where(Subscriber.status == SubscriberStatus.ACTIVE, Subscriber.id > last_id)  # type: ignore[operator]
                    .where(sa.or_(Subscriber.paused_until.is_(None), Subscriber.paused_until <= now))  # type: ignore[union-attr,operator]
                    .order_by(Subscriber.id)  # type: ignore[arg-type]
                    .limit(page_size)
                )
            )
        if not page:
            return
        yield from (s for s in page if newsletter is None or wants(s, newsletter))
        last_id = page[-1].id or last_id


EXPORT_COLUMNS = ("email", "name", "sections", "newsletters", "status", "created_at", "unsubscribed_at")


def export_csv(app: App, handle: TextIO, *, page_size: int = 1000) -> int:
    """Every subscriber (any status) as CSV that ``import_csv`` reads back; returns the number of rows.

    Read a keyset page at a time, so a large list is never all in memory. Cells that a spreadsheet would
    run as a formula (``=``, ``+``, ``-``, ``@`` first) are prefixed with ``'``.
    """
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    last_id, count = 0, 0
    while True:
        with session_scope(app.engine) as session:
            page = list(
                session.exec(
                    select(Subscriber)
                    .where(Subscriber.id > last_id)  # type: ignore[operator]
                    .order_by(Subscriber.id)  # type: ignore[arg-type]
                    .limit(page_size)
                )
            )
        if not page:
            return count
        for row in page:
            cells = [
                row.email,
                row.name or "",
                ";".join(row.sections or []),
                ";".join(row.newsletters or []),
                row.status,
                row.created_at.isoformat(timespec="seconds"),
                row.unsubscribed_at.isoformat(timespec="seconds") if row.unsubscribed_at else "",
            ]
            writer.writerow([_inert(cell) for cell in cells])
        count += len(page)
        last_id = page[-1].id or last_id


def _inert(cell: str) -> str:
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def list_subscribers(app: App, *, limit: int = 1000) -> list[Subscriber]:
    with session_scope(app.engine) as session:
        return list(session.exec(select(Subscriber).order_by(Subscriber.id).limit(limit)))  # type: ignore[arg-type]
