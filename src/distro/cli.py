"""``distro``: the command line. Each command is a thin wrapper over a use case in :mod:`distro.services`."""

from __future__ import annotations

import json
import logging
import sys
import webbrowser
from dataclasses import asdict, is_dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from distro.app import App, build_app
from distro.db import upgrade
from distro.errors import DistroError
from distro.settings import load_settings

console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)
cli = typer.Typer(
    help="distro: turn new articles into weekly digests and social posts, and send them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
digest_cli = typer.Typer(help="Compose, preview and send the weekly digest.", no_args_is_help=True)
social_cli = typer.Typer(
    help="Plan and send one post per new article on each platform.", no_args_is_help=True
)
articles_cli = typer.Typer(help="Articles stored from your sources.", no_args_is_help=True)
subscribers_cli = typer.Typer(help="The digest's subscribers.", no_args_is_help=True)
cli.add_typer(digest_cli, name="digest")
cli.add_typer(social_cli, name="social")
cli.add_typer(articles_cli, name="articles")
cli.add_typer(subscribers_cli, name="subscribers")


class Format(StrEnum):
    table = "table"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Print a table or JSON.")]
_STATE: dict[str, Any] = {}


@cli.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML file (default: config/distro.toml or $DISTRO_CONFIG)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
) -> None:
    """distro reads config/distro.toml, then DISTRO_* environment variables (DISTRO_SMTP__HOST=...)."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    _STATE["config"] = config


def app() -> App:
    """The wired application, built once per command, with the schema brought up to date."""
    if "app" not in _STATE:
        built = build_app(load_settings(_STATE.get("config")))
        upgrade(built.engine)
        _STATE["app"] = built
    return _STATE["app"]  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if hasattr(value, "model_dump"):
        return {k: _plain(v) for k, v in value.model_dump().items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and len(value) == 25 and value[10:11] == "T":  # an ISO timestamp
        return value[:16].replace("T", " ")
    return str(value)


def show(rows: list[Any], columns: list[str], fmt: Format, title: str) -> None:
    records = [_plain(r) for r in rows]
    if fmt == Format.json:
        sys.stdout.write(json.dumps(records, indent=2, ensure_ascii=False) + "\n")
        return
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(*(_cell(record.get(c)) for c in columns))
    console.print(table)


@cli.command()
def init() -> None:
    """Create or upgrade the database schema (safe to run again)."""
    application = app()
    console.print(f"database ready: {application.engine.url.render_as_string(hide_password=True)}")


@cli.command(name="ingest")
def ingest_command(
    source: Annotated[
        str | None,
        typer.Argument(
            help="A configured source name, a feed URL or a file path. Default: every source in the config."
        ),
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Fetch sources and store their new or edited articles."""
    from distro.services.ingest import ingest

    reports = ingest(app(), source)
    show(reports, ["source", "new", "updated", "unchanged", "not_modified", "error"], fmt, "ingest")
    failed = [r for r in reports if r.error]
    if failed:
        raise DistroError(failed[0].error or "ingest failed")


@cli.command()
def run(
    once: Annotated[
        bool,
        typer.Option("--once", help="Run the main job once and exit, instead of starting the scheduler."),
    ] = False,
) -> None:
    """Start the scheduler (poll, weekly digest, dispatch), or with --once run the whole job now."""
    if once:
        from distro.services.jobs import run_once

        summary = run_once(app())
        for report in summary.ingested:
            console.print(f"ingested {report.source}: {report.new} new, {report.updated} updated")
        digest = summary.digest
        if digest and digest.digest:
            console.print(f"digest {digest.digest.slug}: {summary.digest_rows} new deliveries queued")
        elif digest:
            console.print(f"digest: {digest.reason}")
        console.print(f"social: {summary.social_rows} new deliveries queued")
        for name, rep in summary.dispatched.items():
            console.print(
                f"dispatch {name}: {rep.sent} sent, {rep.temporary} to retry, {rep.permanent} failed, "
                f"{rep.suppressed} suppressed" + (" (paused)" if rep.paused else "")
            )
        return
    from distro.scheduler import run_scheduler

    run_scheduler(app())


@cli.command(name="dispatch")
def dispatch_command(
    channel: Annotated[
        list[str] | None, typer.Option("--channel", help="Only this channel (repeatable).")
    ] = None,
) -> None:
    """Send every queued delivery that is due, on every enabled channel."""
    from distro.services.delivery import dispatch

    for name, rep in dispatch(app(), channel).items():
        console.print(
            f"{name}: {rep.sent} sent, {rep.temporary} to retry, {rep.permanent} failed, "
            f"{rep.suppressed} suppressed"
        )


@cli.command(name="log")
def log_command(
    channel: Annotated[str | None, typer.Option(help="email, x or facebook.")] = None,
    status: Annotated[str | None, typer.Option(help="pending, sending, sent, failed or suppressed.")] = None,
    digest: Annotated[str | None, typer.Option(help="A digest slug, e.g. weekly-2026-W48.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 200,
    fmt: FormatOption = Format.table,
) -> None:
    """The delivery log: what went out, to whom, and what failed."""
    from distro.services.delivery import delivery_log

    rows = delivery_log(app(), channel=channel, status=status, digest=digest, limit=limit)
    show(
        rows,
        ["id", "channel", "recipient", "status", "attempts", "provider_id", "last_error", "sent_at"],
        fmt,
        "delivery log",
    )


@digest_cli.command("preview")
def digest_preview(
    subscriber: Annotated[
        str | None, typer.Option("--subscriber", help="Personalise for this address.")
    ] = None,
    open_: Annotated[bool, typer.Option("--open", help="Open the HTML in a browser.")] = False,
) -> None:
    """Compose this week's digest (if needed) and write the exact HTML and text that would be sent."""
    from distro.services.digest import compose_weekly, preview

    result = compose_weekly(app())
    if result.digest is None:
        raise DistroError(f"nothing to preview: {result.reason}")
    html_path, text_path, _ = preview(app(), result.digest, email=subscriber)
    console.print(str(html_path.resolve()))
    console.print(str(text_path.resolve()))
    if open_:
        webbrowser.open(html_path.resolve().as_uri())


@digest_cli.command("send")
def digest_send(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    no_dispatch: Annotated[
        bool, typer.Option("--no-dispatch", help="Only queue; leave sending to workers.")
    ] = False,
) -> None:
    """Compose and queue this week's digest for every active subscriber, then send it."""
    from distro.services.delivery import dispatch
    from distro.services.digest import compose_weekly, count_recipients, queue_digest

    application = app()
    result = compose_weekly(application)
    if result.digest is None:
        console.print(f"nothing sent: {result.reason}")
        return
    recipients = count_recipients(application)
    if not yes and not typer.confirm(f"Send '{result.digest.subject}' to {recipients} subscribers?"):
        raise typer.Exit(1)
    created = queue_digest(application, result.digest)
    console.print(f"digest {result.digest.slug}: {created} new deliveries queued ({recipients} recipients)")
    if not no_dispatch:
        rep = dispatch(application, ["email"])["email"]
        console.print(f"email: {rep.sent} sent, {rep.temporary} to retry, {rep.permanent} failed")


@social_cli.command("send")
def social_send(
    no_dispatch: Annotated[
        bool, typer.Option("--no-dispatch", help="Only queue; leave sending to workers.")
    ] = False,
) -> None:
    """Plan one post per new article for each enabled platform, then send them."""
    from distro.services.delivery import dispatch
    from distro.services.social import plan_social

    application = app()
    console.print(f"social: {plan_social(application)} new deliveries queued")
    if not no_dispatch:
        for name, rep in dispatch(
            application, [c for c in application.enabled_channels() if c != "email"]
        ).items():
            console.print(f"{name}: {rep.sent} sent, {rep.temporary} to retry, {rep.permanent} failed")


@articles_cli.command("list")
def articles_list(
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    fmt: FormatOption = Format.table,
) -> None:
    """Articles stored from your sources, newest first."""
    from sqlmodel import select

    from distro.db import session_scope
    from distro.models import Article

    with session_scope(app().engine) as session:
        rows = list(session.exec(select(Article).order_by(Article.published_at.desc()).limit(limit)))  # type: ignore[union-attr]
    show(rows, ["id", "published_at", "section", "title", "author", "url"], fmt, "articles")


@subscribers_cli.command("add")
def subscribers_add(
    email: Annotated[str, typer.Argument(help="The address.")],
    name: Annotated[str | None, typer.Option(help="Name used in the greeting.")] = None,
    section: Annotated[list[str] | None, typer.Option(help="Only these sections (repeatable).")] = None,
) -> None:
    """Add one subscriber (active at once; double opt-in comes with the web sign-up)."""
    from distro.services.subscribers import add_subscriber

    added = add_subscriber(app(), email, name, section)
    console.print(f"{email}: {'added' if added else 'already known, left as it was'}")


@subscribers_cli.command("import")
def subscribers_import(
    path: Annotated[Path, typer.Argument(help="CSV with a header: email,name,sections.")],
) -> None:
    """Import subscribers from CSV; report every rejected line. Never re-subscribes someone who left."""
    from distro.services.subscribers import import_csv

    report = import_csv(app(), path)
    console.print(f"{report.added} added, {report.existing} already known, {len(report.rejected)} rejected")
    for line, reason in report.rejected:
        err.print(f"  {path}:{line}: {reason}")


@subscribers_cli.command("list")
def subscribers_list(
    limit: Annotated[int, typer.Option(help="At most this many.")] = 1000,
    fmt: FormatOption = Format.table,
) -> None:
    """Subscribers with their status and chosen sections."""
    from distro.services.subscribers import list_subscribers

    show(
        list_subscribers(app(), limit=limit),
        ["id", "email", "name", "status", "sections", "created_at"],
        fmt,
        "subscribers",
    )


def main() -> None:
    """Entry point: a DistroError becomes one line on stderr and exit status 1, never a traceback."""
    try:
        cli()
    except DistroError as exc:
        err.print(f"error: {exc}", style="red", highlight=False, markup=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
