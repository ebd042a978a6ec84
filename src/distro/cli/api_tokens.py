"""``distro api-tokens``: who may call the REST API (/api/v1); a token is printed once, stored hashed."""

from __future__ import annotations

from typing import Annotated

import typer

from distro.cli.context import Format, FormatOption, app, console, err
from distro.cli.reports import show

group = typer.Typer(help="Tokens of the REST API (/api/v1): create, list, revoke.", no_args_is_help=True)


@group.command("create")
def api_tokens_create(
    name: Annotated[str, typer.Argument(help="A name for the token (who or what uses it).")],
    scope: Annotated[str, typer.Option("--scope", help="read (GET only) or write (everything).")] = "read",
) -> None:
    """Make a token and print it, the only time it is shown: store it in the caller's secret store."""
    from distro.services.activity import cli_actor
    from distro.services.api_tokens import create_token

    token = create_token(app(), name, scope, actor=cli_actor())
    err.print(f"{name}: a {scope} token; it is shown this once and stored only as a hash", highlight=False)
    print(token)


@group.command("list")
def api_tokens_list(fmt: FormatOption = Format.table) -> None:
    """Tokens with their scope, creation, last use and revocation (never the token)."""
    from distro.services.api_tokens import list_tokens

    columns = ["name", "scope", "created_at", "last_used_at", "revoked_at"]
    show(list_tokens(app()), columns, fmt, "API tokens")


@group.command("revoke")
def api_tokens_revoke(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke a token at once: its next request gets 401."""
    from distro.services.activity import cli_actor
    from distro.services.api_tokens import revoke_token

    changed = revoke_token(app(), name, actor=cli_actor())
    console.print(f"{name}: revoked" if changed else f"{name}: was revoked already", highlight=False)
