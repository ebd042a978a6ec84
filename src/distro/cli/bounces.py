"""``distro bounces``: bounce messages coming back, from the MTA (``serve``) or an IMAP mailbox (``fetch``).

Each way in hands raw messages to :func:`distro.services.bounces.ingest_message`; what a bounce does is
decided there. More commands join ``group`` below (one function each, registered with ``@group.command``).
"""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from distro.cli.context import app, console
from distro.errors import ConfigError

group = typer.Typer(help="Bounces and complaints coming back to the bounce address.", no_args_is_help=True)


@group.command("serve")
def bounces_serve() -> None:
    """Receive bounces from the MTA over LMTP (or SMTP) until SIGTERM/Ctrl-C.

    Listens on bounces.listen_host:listen_port (bounces.protocol). A bounce that cannot be stored is
    answered 451, so the MTA keeps it and retries.
    """
    from distro.feedback.listener import serve
    from distro.services.bounces import ingest_message
    from distro.worker import stop_on_signals

    application = app(wait_for_db=True)
    settings = application.settings.bounces

    def handle(data: bytes, recipient: str | None) -> None:
        ingest_message(application, data, envelope_recipient=recipient)

    def ready(host: str, port: int) -> None:
        console.print(f"bounces serve: {settings.protocol.upper()} on {host}:{port}", highlight=False)

    stop = threading.Event()
    with stop_on_signals(stop):
        serve(handle, settings, ready=ready, stop=stop)


@group.command("fetch")
def bounces_fetch(
    limit: Annotated[int, typer.Option(min=1, help="At most this many messages, oldest first.")] = 500,
) -> None:
    """Read the bounce mailbox once over IMAP (bounces.imap_*; run it from cron or a timer).

    Each message handled is moved to bounces.imap_processed_folder; one that fails stays, unseen, for the
    next run. The password comes from DISTRO_BOUNCES__IMAP_PASSWORD.
    """
    from distro.feedback.imap import fetch
    from distro.services.bounces import ingest_message

    application = app()
    settings = application.settings.bounces
    if settings.imap_password is None:
        raise ConfigError("bounces fetch: set DISTRO_BOUNCES__IMAP_PASSWORD (the IMAP password)")

    def handle(data: bytes) -> None:
        ingest_message(application, data, envelope_recipient=None)

    report = fetch(handle, settings, settings.imap_password.get_secret_value(), limit=limit)
    console.print(
        f"bounces fetch: {report.handled} handled, {report.failed} failed, {report.left} left",
        highlight=False,
    )
