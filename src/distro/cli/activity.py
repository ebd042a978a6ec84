"""``distro activity``: who changed what, from the desk, the command line and the API (read-only)."""

from __future__ import annotations

from typing import Annotated

import typer

from distro.cli.context import Format, FormatOption, app
from distro.cli.reports import show

COLUMNS = ["at", "actor", "action", "subject", "detail"]


def activity_command(
    fmt: FormatOption = Format.table,
    limit: Annotated[int, typer.Option("--limit", "-l", help="At most this many rows, newest first.")] = 50,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Only this actor (editor:<email>, cli:<user>, api:<token>).")
    ] = None,
    action: Annotated[
        str | None, typer.Option("--action", help="Only this action and its kinds ('post' for post.*).")
    ] = None,
) -> None:
    """The activity record, newest first: every change with who made it, when and to what."""
    from distro.services.activity import list_activity

    page = list_activity(app(), actor=actor, action=action, limit=limit)
    rows = [{column: getattr(row, column) for column in COLUMNS} for row in page.rows]
    show(rows, COLUMNS, fmt, "activity")
