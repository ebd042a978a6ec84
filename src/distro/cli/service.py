"""Running distro: ``init``, ``run`` (the service or one main job), ``dispatch``, ``worker`` and ``web``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from distro.app import App
from distro.cli.context import app, config_file, console
from distro.cli.reports import print_dispatch
from distro.errors import DistroError
from distro.progress import ticker

if TYPE_CHECKING:
    import uvicorn

ChannelOption = Annotated[list[str] | None, typer.Option("--channel", help="Only this channel (repeatable).")]


def init() -> None:
    """Make this folder a site: config/distro.toml (unless there is one), var/, and the database schema.

    Safe to run again: an existing config file is never rewritten, and the schema is only upgraded (the
    same step every command takes, so `distro init` is also the schema upgrade after a new release).
    With --config or DISTRO_CONFIG naming a file that does not exist yet, that file is written.
    """
    from distro import packaged
    from distro.services.site import write_site_config

    path = config_file()
    if write_site_config(path, Path.cwd()):
        documented = packaged.example_config()
        console.print(f"wrote {path} (every key is documented in {documented})", highlight=False)
    application = app()
    application.settings.var_dir.mkdir(parents=True, exist_ok=True)
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
    if role not in ("all", "scheduler", "worker", "web"):
        raise DistroError(f"unknown role {role!r}: use all, scheduler, worker or web")
    _run_service(app(wait_for_db=True), role=role, host=host, port=port)


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


def _run_service(application: App, *, role: str, host: str, port: int) -> None:
    """One role, or all of them in one process for a small site.

    In ``all`` the scheduler's dispatch job sends; with separate roles the scheduler only plans and
    ``worker`` processes (any number, on any machine) send.
    """
    if role == "worker":
        from distro.worker import run_worker

        run_worker(application)
        return
    if role == "web":
        from distro.web.app import create_web_app
        from distro.web.serve import serve

        serve(create_web_app(application), application.settings.web, host=host, port=port)
        return
    web = _start_web(application, host=host, port=port) if role == "all" else None
    try:
        _run_scheduler(application, dispatch=role == "all")
    finally:
        if web is not None:
            web[0].should_exit = True
            web[1].join(timeout=10)


def _start_web(application: App, *, host: str, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    """The web app served from a thread of this process (role ``all``)."""
    import uvicorn

    from distro.web.app import create_web_app
    from distro.web.serve import server_config

    app_ = create_web_app(application)
    server = uvicorn.Server(
        server_config(app_, application.settings.web, host=host, port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    return server, thread


def _run_scheduler(application: App, *, dispatch: bool) -> None:
    """The scheduler until SIGINT/SIGTERM: the job in progress finishes, the message in flight is not cut."""
    from distro.scheduler import run_scheduler
    from distro.worker import stop_on_signals

    stop = threading.Event()
    with stop_on_signals(stop):
        run_scheduler(application, stop, dispatch=dispatch)


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
