"""``distro bounces``: bounce messages coming back, one at a time (``ingest``, a Postfix pipe, procmail),
from the MTA (``serve``) or an IMAP mailbox (``fetch``), and the events they left (``list``).

Each way in hands raw messages to :func:`distro.services.bounces.ingest_message`; what a bounce does is
decided there. More commands join ``group`` below (one function each, registered with ``@group.command``).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from distro.cli.context import Format, FormatOption, app, console, err
from distro.cli.reports import print_json, show
from distro.errors import ConfigError, InvalidInput

group = typer.Typer(help="Bounces and complaints coming back to the bounce address.", no_args_is_help=True)


EX_DATAERR, EX_TEMPFAIL = 65, 75  # sysexits: a pipe transport bounces the first, retries the second


@group.command("ingest")
def bounces_ingest(
    file: Annotated[
        Path | None, typer.Argument(help="One RFC 5322 message; default: standard input.")
    ] = None,
    envelope_recipient: Annotated[
        str | None,
        typer.Option(help="The address it was delivered to (Postfix pipe: ${original_recipient})."),
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Read one bounce, complaint or other message sent to the bounce address, and act on it.

    Prints what it found (JSON: kind, recipient, delivery_id, status, action). Exit 0 when it was read
    (an autoreply is read too, and changes nothing), 75 when the database is unreachable (an MTA's pipe
    transport then keeps the message and retries), 65 for a message over bounces.max_message_bytes.
    """
    from distro.db import DATABASE_DOWN, describe_database_error
    from distro.services.bounces import ingest_message

    try:
        application = app()  # brings the schema up to date: the first use of the database
        limit = application.settings.bounces.max_message_bytes
        data = _read_message(file, limit)
        if len(data) > limit:
            err.print(f"error: message larger than bounces.max_message_bytes ({limit} bytes); not read")
            raise typer.Exit(EX_DATAERR)
        outcome = ingest_message(application, data, envelope_recipient=envelope_recipient)
    except DATABASE_DOWN as exc:
        err.print(f"error: database unreachable: {describe_database_error(exc)}; try again later")
        raise typer.Exit(EX_TEMPFAIL) from None
    if fmt == Format.json:
        print_json(outcome.as_dict())
        return
    who = outcome.recipient or "nobody named"
    status = f" {outcome.status}" if outcome.status else ""
    console.print(f"{outcome.kind}{status} ({outcome.source}) for {who}: {outcome.action}", highlight=False)


def _read_message(file: Path | None, limit: int) -> bytes:
    """At most ``limit`` + 1 bytes of the file or standard input (one more tells it is too big)."""
    try:
        with file.open("rb") if file is not None else sys.stdin.buffer as handle:
            return handle.read(limit + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror}") from None


@group.command("list")
def bounces_list(
    address: Annotated[str | None, typer.Option(help="Only this address (a reader's history).")] = None,
    kind: Annotated[str | None, typer.Option(help="Only hard, soft or complaint.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 200,
    fmt: FormatOption = Format.table,
) -> None:
    """Bounces and complaints as they came back (SMTP refusals, DSNs, ARF reports, ESP webhooks) and what
    each one did."""
    from distro.services.bounces import list_events

    show(
        list_events(app(), email=address, kind=kind, limit=limit),
        ["at", "email", "kind", "status", "source", "provider", "delivery_id", "action"],
        fmt,
        "bounces and complaints",
    )


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
