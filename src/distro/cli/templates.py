"""``distro templates``: the templates distro ships, and copying one into the site to customise it."""

from __future__ import annotations

from typing import Annotated

import typer

from distro.cli.context import Format, FormatOption, console, settings
from distro.cli.reports import show

group = typer.Typer(
    help="The email, web and social templates: distro's own, overridden file by file by the site's "
    "templates folder (templates_dir).",
    no_args_is_help=True,
)


@group.command("list")
def templates_list(fmt: FormatOption = Format.table) -> None:
    """Every template distro ships, and which of them the site's templates folder overrides."""
    from distro.services.site import list_templates

    show(list_templates(settings()), ["name", "overridden"], fmt, "templates")


@group.command("copy")
def templates_copy(
    name: Annotated[str, typer.Argument(help="As `templates list` names it, e.g. email/digest.mjml.j2")],
    force: Annotated[bool, typer.Option("--force", help="Replace the site's existing copy.")] = False,
) -> None:
    """Copy one of distro's templates into the site's templates folder, where edits to it take effect.

    The copy overrides distro's file of the same name; every template not copied still comes from distro,
    so a later distro upgrade still brings the others' fixes. An existing copy is kept unless --force.
    """
    from distro.services.site import copy_template

    console.print(f"copied to {copy_template(settings(), name, force=force)}", highlight=False)
