"""``distro webhooks``: the configured outgoing webhooks, and a signed test event to one of them."""

from __future__ import annotations

from typing import Annotated

import typer

from distro.cli.context import Format, FormatOption, app, console
from distro.cli.reports import show

group = typer.Typer(help="Outgoing webhooks ([[webhooks]] in the configuration).", no_args_is_help=True)


@group.command("list")
def webhooks_list(fmt: FormatOption = Format.table) -> None:
    """Each webhook's name, the host it posts to and its events (never its secret)."""
    from distro.services.events import list_webhooks

    views = list_webhooks(app())
    if fmt == Format.table and not views:
        console.print("no webhooks configured (add [[webhooks]] entries to the configuration)")
        return
    show(views, ["name", "host", "events"], fmt, "webhooks")


@group.command("test")
def webhooks_test(name: Annotated[str, typer.Argument(help="The webhook's name.")]) -> None:
    """Send one signed webhook.test event to NAME now (not through the outbox) and print its answer."""
    from distro.services.events import send_test

    result = send_test(app(), name)
    console.print(
        f"{name}: {'ok' if result.ok else 'failed'}: {result.detail} (webhook-id {result.webhook_id})"
    )
    if not result.ok:
        raise typer.Exit(1)
