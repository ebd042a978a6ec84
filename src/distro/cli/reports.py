"""How commands print what a use case returned: tables or JSON, and the one line per dispatched channel.

Scripts parse this output, so every command prints the same shapes through these functions.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

from rich.table import Table

from distro.cli.context import Format, console
from distro.dispatch import DispatchReport


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses and models as dicts, datetimes as ISO strings."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in asdict(value).items()}
    if hasattr(value, "model_dump"):
        return {k: plain(v) for k, v in value.model_dump().items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and len(value) == 25 and value[10:11] == "T":  # an ISO timestamp
        return value[:16].replace("T", " ")
    return str(value)


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout (non-ASCII kept as it is)."""
    sys.stdout.write(json.dumps(plain(value), indent=2, ensure_ascii=False) + "\n")


def show(rows: list[Any], columns: list[str], fmt: Format, title: str) -> None:
    """``rows`` as a table of ``columns`` titled ``title``, or as a JSON list of every field."""
    records = [plain(r) for r in rows]
    if fmt == Format.json:
        print_json(records)
        return
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(*(_cell(record.get(c)) for c in columns))
    console.print(table)


def dispatch_line(name: str, report: DispatchReport) -> str:
    """One channel's dispatch outcome, e.g. ``email: 5 sent, 0 to retry, 0 failed, 1 suppressed``."""
    return (
        f"{name}: {report.sent} sent, {report.temporary} to retry, {report.permanent} failed, "
        f"{report.suppressed} suppressed" + (" (paused)" if report.paused else "")
    )


def print_dispatch(reports: Mapping[str, DispatchReport], prefix: str = "") -> None:
    """One :func:`dispatch_line` per channel, each after ``prefix``."""
    for name, report in reports.items():
        console.print(prefix + dispatch_line(name, report))
