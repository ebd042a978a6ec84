"""``distro log`` and ``distro status``: what went out, and how the whole system stands."""

from __future__ import annotations

from typing import Annotated

import typer

from distro.cli.context import Format, FormatOption, app
from distro.cli.reports import print_json, show

QUEUE_COLUMNS = [
    "channel",
    "pending",
    "sending",
    "sent",
    "failed",
    "suppressed",
    "failed_attempts_24h",
    "oldest_pending",
]


def log_command(
    channel: Annotated[str | None, typer.Option(help="email, x or facebook.")] = None,
    status: Annotated[str | None, typer.Option(help="pending, sending, sent, failed or suppressed.")] = None,
    digest: Annotated[str | None, typer.Option(help="A digest slug, e.g. weekly-2026-W48.")] = None,
    address: Annotated[str | None, typer.Option(help="Part of the recipient's address, any case.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 200,
    fmt: FormatOption = Format.table,
) -> None:
    """The delivery log: what went out, to whom, and what failed."""
    from distro.services.delivery_log import delivery_log

    rows = delivery_log(app(), channel=channel, status=status, digest=digest, address=address, limit=limit)
    show(
        rows,
        [
            "id",
            "channel",
            "recipient",
            "status",
            "attempts",
            "provider_id",
            "last_error",
            "bounce",
            "sent_at",
        ],
        fmt,
        "delivery log",
    )


def status_command(fmt: FormatOption = Format.table) -> None:
    """Sources (last poll, error, next poll), scheduled jobs, queue depth per channel, failures in 24 h."""
    from distro.services.status import collect

    status = collect(app())
    if fmt == Format.json:
        print_json(status)
        return
    show(status.sources, ["source", "last_poll", "next_poll", "last_error"], fmt, "sources")
    show(status.jobs, ["job", "trigger", "next_run"], fmt, "scheduled jobs")
    show(status.channels, QUEUE_COLUMNS, fmt, "queues")
