"""``distro accounts`` and ``distro auth``: the social accounts, and authorising one (token encrypted)."""

from __future__ import annotations

from getpass import getpass
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
        ["channel", "mode", "sections", "status", "token", "expires_at", "pending", "last_error", "paused"],
        fmt,
        "social accounts",
    )


@group.command("refresh")
def accounts_refresh(fmt: FormatOption = Format.table) -> None:
    """Refresh the Threads and LinkedIn tokens that end soon (the scheduler does it at each poll)."""
    from distro.services.social_tokens import refresh_tokens

    show(refresh_tokens(app()), ["channel", "outcome", "detail"], fmt, "token refresh")


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


@auth_group.command("threads")
def auth_threads(account: AuthAccount = None) -> None:
    """Paste a long-lived Threads token (hidden); it is checked, refreshed and stored with its end."""
    from distro.auth import authorize_threads

    application = app()
    authorize_threads(
        application.engine,
        application.settings,
        account=account,
        ask=input,
        say=typer.echo,
        ask_secret=getpass,
    )


@auth_group.command("linkedin")
def auth_linkedin(account: AuthAccount = None) -> None:
    """Paste a LinkedIn refresh token (or an access token), hidden; checked on the page and stored."""
    from distro.auth import authorize_linkedin

    application = app()
    authorize_linkedin(
        application.engine,
        application.settings,
        account=account,
        ask=input,
        say=typer.echo,
        ask_secret=getpass,
    )
