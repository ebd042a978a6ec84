"""``distro subscribers``: add, import, list and export subscribers; data-protection export and forget."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from distro.cli.context import Format, FormatOption, app, console, err
from distro.cli.reports import print_json, show
from distro.progress import ticker

group = typer.Typer(help="The digest's subscribers.", no_args_is_help=True)


@group.command("add")
def subscribers_add(
    email: Annotated[str, typer.Argument(help="The address.")],
    name: Annotated[str | None, typer.Option(help="Name used in the greeting.")] = None,
    section: Annotated[list[str] | None, typer.Option(help="Only these sections (repeatable).")] = None,
) -> None:
    """Add one subscriber (active at once; double opt-in comes with the web sign-up)."""
    from distro.services.activity import cli_actor
    from distro.services.subscribers import add_subscriber

    added = add_subscriber(app(), email, name, section, actor=cli_actor())
    console.print(f"{email}: {'added' if added else 'already known, left as it was'}")


@group.command("import")
def subscribers_import(
    path: Annotated[
        Path, typer.Argument(help="UTF-8 CSV with a header: email,name,sections[,newsletters][,status].")
    ],
) -> None:
    """Import subscribers from CSV (as export-csv writes it): the whole file is checked first, every bad
    line is reported, and the good rows are written in one transaction. Never re-subscribes someone who
    left, bounced or is suppressed."""
    from distro.services.activity import cli_actor
    from distro.services.subscribers import import_csv

    with ticker(console, "importing", _data_lines(path)) as tick:
        report = import_csv(app(), path, progress=tick, actor=cli_actor())
    console.print(f"{report.added} added, {report.existing} already known, {len(report.rejected)} rejected")
    for line, reason in report.rejected:
        err.print(f"  {path}:{line}: {reason}")


def _data_lines(path: Path) -> int | None:
    """Rows in a CSV file (for the progress bar); None when it cannot be read (import reports why)."""
    try:
        with path.open("rb") as handle:
            return max(sum(1 for _ in handle) - 1, 0)
    except OSError:
        return None


@group.command("list")
def subscribers_list(
    limit: Annotated[int, typer.Option(help="At most this many.")] = 1000,
    fmt: FormatOption = Format.table,
) -> None:
    """Subscribers with their status (bounced or suppressed: on the suppression list) and sections."""
    from distro.services.subscribers import list_subscribers

    show(
        list_subscribers(app(), limit=limit),
        ["id", "email", "name", "status", "sections", "created_at"],
        fmt,
        "subscribers",
    )


@group.command("export-csv")
def subscribers_export_csv(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).")] = (
        None
    ),
) -> None:
    """Every subscriber as CSV (email,name,sections,newsletters,status,...), readable by `import`."""
    from distro.services.subscribers import export_csv

    if output is None:
        export_csv(app(), sys.stdout)
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        count = export_csv(app(), handle)
    err.print(f"{count} subscribers written to {output}")


@group.command("export")
def subscribers_export(email: Annotated[str, typer.Argument(help="The address.")]) -> None:
    """Print, as JSON, everything stored about one address (a data-protection access request)."""
    from distro.services.privacy import export_subscriber

    print_json(export_subscriber(app(), email))


@group.command("forget")
def subscribers_forget(
    email: Annotated[str, typer.Argument(help="The address.")],
    suppress: Annotated[bool, typer.Option(help="Also never mail it again (keeps it on the list).")] = False,
) -> None:
    """Delete personal data about one address; its delivery-log rows stay, with the address hashed."""
    from distro.services.activity import cli_actor
    from distro.services.privacy import forget_subscriber

    counts = forget_subscriber(app(), email, suppress_address=suppress, actor=cli_actor())
    console.print(", ".join(f"{name}: {count}" for name, count in counts.items()))
