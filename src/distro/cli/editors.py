"""``distro editors``: the desk's accounts (passwords asked for twice or read from stdin, stored hashed)."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from distro.cli.context import Format, FormatOption, app, console
from distro.cli.reports import show

group = typer.Typer(help="Who may sign in to the editor's desk (/desk).", no_args_is_help=True)

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input (for scripts).")
]


class Role(StrEnum):
    admin = "admin"
    editor = "editor"
    viewer = "viewer"


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@group.command("add")
def editors_add(
    email: Annotated[str, typer.Argument(help="The editor's address (their sign-in name).")],
    password_stdin: PasswordStdin = False,
    role: Annotated[
        Role,
        typer.Option(
            "--role",
            help="admin: everything; editor: editions, social posts, subscribers; viewer: reads only.",
        ),
    ] = Role.editor,
) -> None:
    """Create a desk account; the password is asked for twice (or read from stdin) and stored hashed."""
    from distro.services.activity import cli_actor
    from distro.services.editors import add_editor

    add_editor(app(), email, _new_password(password_stdin), role=role.value, actor=cli_actor())
    console.print(f"{email}: can sign in at {app().settings.web.public_url.rstrip('/')}/desk as {role.value}")


@group.command("role")
def editors_role(
    email: Annotated[str, typer.Argument(help="The editor's address.")],
    role: Annotated[Role, typer.Argument(help="admin, editor or viewer.")],
) -> None:
    """Give an editor another role; it holds from their next page on the desk."""
    from distro.services.activity import cli_actor
    from distro.services.editors import set_role

    set_role(app(), email, role.value, actor=cli_actor())
    console.print(f"{email}: now {role.value}")


@group.command("passwd")
def editors_passwd(
    email: Annotated[str, typer.Argument(help="The editor's address.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password; the editor's open sessions end and a lockout is lifted."""
    from distro.services.activity import cli_actor
    from distro.services.editors import set_password

    set_password(app(), email, _new_password(password_stdin), actor=cli_actor())
    console.print(f"{email}: password changed, signed out everywhere")


@group.command("remove")
def editors_remove(email: Annotated[str, typer.Argument(help="The editor's address.")]) -> None:
    """Delete a desk account and end its sessions at once."""
    from distro.services.activity import cli_actor
    from distro.services.editors import remove_editor

    remove_editor(app(), email, actor=cli_actor())
    console.print(f"{email}: removed")


@group.command("list")
def editors_list(fmt: FormatOption = Format.table) -> None:
    """Desk accounts with their role, last sign-in and lockout (never the password hash)."""
    from distro.services.editors import list_editors

    columns = ["email", "role", "created_at", "last_login_at", "failed_logins", "locked_until"]
    rows = [{column: getattr(editor, column) for column in columns} for editor in list_editors(app())]
    show(rows, columns, fmt, "editors")
