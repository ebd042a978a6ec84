"""``distro suppressions``: the addresses nothing is sent to (bounced, complained, blocked by an editor)."""

from __future__ import annotations

from typing import Annotated

import typer

from distro.cli.context import Format, FormatOption, app, console
from distro.cli.reports import show

group = typer.Typer(help="The suppression list: addresses that are never mailed.", no_args_is_help=True)


@group.command("list")
def suppressions_list(
    reason: Annotated[
        str | None, typer.Option(help="Only this reason: hard_bounce, soft_bounce, complaint, manual, ...")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 1000,
    fmt: FormatOption = Format.table,
) -> None:
    """Every suppressed address with its reason and since when (JSON: email, reason, since, detail)."""
    from distro.services.suppression import list_suppressions

    show(
        list_suppressions(app().engine, reason=reason, limit=limit),
        ["email", "reason", "since", "detail"],
        fmt,
        "suppressions",
    )


@group.command("add")
def suppressions_add(
    email: Annotated[str, typer.Argument(help="The address.")],
    reason: Annotated[
        str, typer.Option(help="Why: manual (default), complaint, hard_bounce, ...")
    ] = "manual",
    detail: Annotated[str | None, typer.Option(help="A note kept with the entry.")] = None,
) -> None:
    """Never mail this address again (whether or not it is a subscriber); queued mail to it is skipped."""
    from distro.services.activity import cli_actor
    from distro.services.suppression import suppress

    added = suppress(app().engine, email, reason, detail, actor=cli_actor())
    console.print(f"{email}: {'suppressed' if added else 'already on the list, left as it was'}")


@group.command("remove")
def suppressions_remove(email: Annotated[str, typer.Argument(help="The address.")]) -> None:
    """Take an address off the list (an editor's decision: it does not re-subscribe anyone who left)."""
    from distro.errors import NotFound
    from distro.services.activity import cli_actor
    from distro.services.suppression import unsuppress

    if not unsuppress(app().engine, email, actor=cli_actor()):
        raise NotFound(f"{email} is not on the suppression list")
    console.print(f"{email}: removed from the suppression list")
