"""``distro accounts`` and ``distro auth``: the social accounts, and authorising one (token encrypted)."""

from __future__ import annotations

from typing import Annotated

import typer

from distro.cli.context import Format, FormatOption, app
from distro.cli.reports import show

group = typer.Typer(help="Social accounts: status, token expiry, queued posts.", no_args_is_help=True)
auth_group = typer.Typer(
    help="Authorise a social account and store its token encrypted.", no_args_is_help=True
)

AuthAccount = Annotated[str | None, typer.Option("--account", help="The account (default: the first).")]


@group.command("list")
def accounts_list(fmt: FormatOption = Format.table) -> None:
    """Every configured social account: mode, token (never shown), status, expiry and queued posts."""
    from distro.accounts import list_accounts

    application = app()
    show(
        list_accounts(application.engine, application.settings),
        ["channel", "mode", "sections", "status", "token", "expires_at", "pending", "last_error"],
        fmt,
        "social accounts",
    )


@auth_group.command("x")
def auth_x(account: AuthAccount = None) -> None:
    """OAuth 1.0a PIN flow: open the printed address, authorise the app, type the PIN X shows."""
    from distro.auth import authorize_x

    application = app()
    authorize_x(application.engine, application.settings, account=account, ask=input, say=typer.echo)


@auth_group.command("facebook")
def auth_facebook(account: AuthAccount = None) -> None:
    """OAuth 2.0: allow the app, paste the address you land on; stores the Page's token (no expiry)."""
    from distro.auth import authorize_facebook

    application = app()
    authorize_facebook(application.engine, application.settings, account=account, ask=input, say=typer.echo)
