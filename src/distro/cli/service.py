"""Running distro: ``init``, ``run`` (the service or one main job), ``dispatch``, ``worker`` and ``web``."""

from __future__ import annotations

from typing import Annotated

import typer

from distro.app import App
from distro.cli.context import app, console
from distro.cli.reports import print_dispatch
from distro.errors import DistroError
from distro.progress import ticker

ChannelOption = Annotated[list[str] | None, typer.Option("--channel", help="Only this channel (repeatable).")]


def init() -> None:
    """Create or upgrade the database schema (safe to run again)."""
    application = app()
    console.print(f"database ready: {application.engine.url.render_as_string(hide_password=True)}")


def run(
    once: Annotated[
        bool,
        typer.Option("--once", help="Run the main job once and exit, instead of starting the service."),
    ] = False,
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="all (scheduler + dispatch + web in one process, for a small site), or one of "
            "scheduler, worker, web for a larger one.",
        ),
    ] = "all",
    host: Annotated[str, typer.Option(help="Web app address (roles all, web).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Web app port (roles all, web); 0 picks a free one.")] = 8000,
) -> None:
    """Run the service until SIGTERM/Ctrl-C, or with --once run the whole main job now and exit."""
    if once:
        _run_once()
        return
    from distro.scheduler import run_service

    if role not in ("all", "scheduler", "worker", "web"):
        raise DistroError(f"unknown role {role!r}: use all, scheduler, worker or web")
    run_service(app(wait_for_db=True), role=role, host=host, port=port)


def _run_once() -> None:
    from distro.services.jobs import run_once

    summary = run_once(app())
    for report in summary.ingested:
        console.print(f"ingested {report.source}: {report.new} new, {report.updated} updated")
    for prefix, sent in summary.digests.items():
        if sent.digest:
            console.print(f"digest {sent.digest.slug}: {sent.queued} new deliveries queued")
        else:
            console.print(f"digest {prefix}: {sent.reason}")
    console.print(f"social: {summary.social_rows} new deliveries queued")
    print_dispatch(summary.dispatched, prefix="dispatch ")


def dispatch_command(channel: ChannelOption = None) -> None:
    """Send every queued delivery that is due, on every enabled channel."""
    from distro.services.delivery import dispatch

    application = app()
    with ticker(console, "sending", _due_count(application, channel)) as tick:
        reports = dispatch(application, channel, progress=tick)
    print_dispatch(reports)


def worker_command(
    channel: ChannelOption = None,
    once: Annotated[bool, typer.Option("--once", help="One pass over the due rows, then exit.")] = False,
) -> None:
    """Run a dispatch worker until SIGTERM/SIGINT (any number, on any number of machines).

    On a signal the message in flight is finished and recorded, the rest is released, and it exits 0.
    """
    from distro.worker import run_worker

    report = run_worker(app(wait_for_db=not once), channel, once=once)
    print_dispatch(report.channels)


def web_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web app with uvicorn; put a TLS proxy in front and name it in web.forwarded_allow_ips."""
    from distro.web.app import create_web_app
    from distro.web.serve import serve

    application = app()
    serve(create_web_app(application), application.settings.web, host=host, port=port)


def _due_count(application: App, channels: list[str] | None) -> int:
    from distro.outbox import counts_by_status

    names = channels or application.enabled_channels()
    return sum(counts_by_status(application.engine, name).get("pending", 0) for name in names)
