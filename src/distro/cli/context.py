"""What every command shares: the consoles, the common options and the wired application.

The root callback starts each invocation afresh with its ``--config``; :func:`app` builds the application
from it once per command, so a second invocation in the same process (CliRunner, a test) never reuses the
first one's App.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from distro.app import App, build_app
from distro.db import upgrade
from distro.logs import configure_logging, redact, secret_values
from distro.settings import DEFAULT_CONFIG, Settings, load_settings

console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


class Format(StrEnum):
    table = "table"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Print a table or JSON.")]
NewsletterOption = Annotated[
    str | None,
    typer.Option("--newsletter", "-n", help="Slug prefix of the newsletter (default: the main [digest])."),
]


@dataclass
class _Invocation:
    """The command running now: its ``--config`` and, once built, its App."""

    config: Path | None = None
    app: App | None = None


_INVOCATION = _Invocation()


def _print_version(asked: bool) -> None:
    if asked:
        console.print(f"distro {distro_version()}", highlight=False)
        raise typer.Exit()


def distro_version() -> str:
    """The installed distribution's version (what pip installed), else the source tree's."""
    from importlib import metadata

    try:
        return metadata.version("distro")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        from distro import __version__

        return __version__


def root(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML file (default: config/distro.toml or $DISTRO_CONFIG)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
    log_format: Annotated[
        str,
        typer.Option("--log-format", envvar="DISTRO_LOG_FORMAT", help="Log lines as 'text' or 'json'."),
    ] = "text",
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """distro reads config/distro.toml, then DISTRO_* environment variables (DISTRO_SMTP__HOST=...)."""
    configure_logging(verbose=verbose, fmt=log_format)
    _INVOCATION.config, _INVOCATION.app = config, None


def config_file() -> Path:
    """The config file this command reads: ``--config``, else ``$DISTRO_CONFIG``, else config/distro.toml.

    The same choice as :func:`distro.settings.load_settings`; ``distro init`` writes the file there.
    """
    return _INVOCATION.config or Path(os.environ.get("DISTRO_CONFIG") or DEFAULT_CONFIG)


def settings() -> Settings:
    """This command's settings, for commands that need no database (``distro templates``)."""
    if _INVOCATION.app is not None:
        return _INVOCATION.app.settings
    loaded = load_settings(_INVOCATION.config)
    redact(secret_values(loaded))
    return loaded


def app(*, wait_for_db: bool = False) -> App:
    """The wired application, built once per command, with the schema brought up to date.

    ``wait_for_db``: long-running commands wait (with backoff, logged) for a database that is not there
    yet, and exit 0 if stopped meanwhile; every other command fails at once with one line (see main).
    """
    if _INVOCATION.app is None:
        settings = load_settings(_INVOCATION.config)
        redact(secret_values(settings))
        built = build_app(settings)
        if wait_for_db:
            from distro.db import wait_for_database
            from distro.worker import stop_on_signals

            stop = threading.Event()
            with stop_on_signals(stop):
                if not wait_for_database(built.engine, stop):
                    raise typer.Exit(0)
        upgrade(built.engine)
        _INVOCATION.app = built
    return _INVOCATION.app
