"""``distro``: the command line. Each command is a thin wrapper over a use case in :mod:`distro.services`.

One module per command group; this one assembles them into the Typer app (the order below is the order
``distro --help`` lists) and holds :func:`main`, which turns a DistroError into one line on stderr.
"""

from __future__ import annotations

import sys

import typer

from distro.cli import (
    accounts,
    activity,
    api_tokens,
    bounces,
    digest,
    editors,
    report,
    service,
    social,
    sources,
    status,
    subscribers,
    suppressions,
    templates,
    webhooks,
)
from distro.cli.context import err, root
from distro.errors import DistroError

__all__ = ["cli", "main"]

cli = typer.Typer(
    help="distro: turn new articles into weekly digests and social posts, and send them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
cli.callback()(root)
cli.command("init")(service.init)
cli.command("ingest")(sources.ingest_command)
cli.command("run")(service.run)
cli.command("dispatch")(service.dispatch_command)
cli.command("worker")(service.worker_command)
cli.command("log")(status.log_command)
cli.command("web")(service.web_command)
cli.command("status")(status.status_command)
cli.command("report")(report.report_command)
cli.command("activity")(activity.activity_command)
cli.add_typer(digest.group, name="digest")
cli.add_typer(social.group, name="social")
cli.add_typer(sources.articles_group, name="articles")
cli.add_typer(subscribers.group, name="subscribers")
cli.add_typer(suppressions.group, name="suppressions")
cli.add_typer(bounces.group, name="bounces")
cli.add_typer(sources.group, name="sources")
cli.add_typer(accounts.group, name="accounts")
cli.add_typer(accounts.auth_group, name="auth")
cli.add_typer(editors.group, name="editors")
cli.add_typer(api_tokens.group, name="api-tokens")
cli.add_typer(templates.group, name="templates")
cli.add_typer(webhooks.group, name="webhooks")


def main() -> None:
    """Entry point: a DistroError becomes one line on stderr and exit status 1, never a traceback."""
    from distro.db import DATABASE_DOWN, describe_database_error

    try:
        cli()
    except DistroError as exc:
        err.print(f"error: {exc}", style="red", highlight=False, markup=False, soft_wrap=True)
        sys.exit(1)
    except DATABASE_DOWN as exc:  # one-shot commands; the long-running ones wait for the database
        message = f"error: database unreachable: {describe_database_error(exc)} (check DISTRO_DATABASE_URL)"
        err.print(message, style="red", highlight=False, markup=False, soft_wrap=True)
        sys.exit(1)
