"""``distro``: the command line. Each command is a thin wrapper over a use case in :mod:`distro.services`."""

from __future__ import annotations

import json
import sys
import threading
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
from distro.logs import configure_logging, redact, secret_values
from distro.progress import ticker
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
sources_cli = typer.Typer(help="The sources articles come from.", no_args_is_help=True)
cli.add_typer(sources_cli, name="sources")
accounts_cli = typer.Typer(help="Social accounts: status, token expiry, queued posts.", no_args_is_help=True)
cli.add_typer(accounts_cli, name="accounts")
auth_cli = typer.Typer(help="Authorise a social account and store its token encrypted.", no_args_is_help=True)
cli.add_typer(auth_cli, name="auth")
editors_cli = typer.Typer(help="Who may sign in to the editor's desk (/desk).", no_args_is_help=True)
cli.add_typer(editors_cli, name="editors")


class Format(StrEnum):
    table = "table"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Print a table or JSON.")]
NewsletterOption = Annotated[
    str | None,
    typer.Option("--newsletter", "-n", help="Slug prefix of the newsletter (default: the main [digest])."),
]
_STATE: dict[str, Any] = {}


@cli.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML file (default: config/distro.toml or $DISTRO_CONFIG)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
    log_format: Annotated[
        str,
        typer.Option("--log-format", envvar="DISTRO_LOG_FORMAT", help="Log lines as 'text' or 'json'."),
    ] = "text",
) -> None:
    """distro reads config/distro.toml, then DISTRO_* environment variables (DISTRO_SMTP__HOST=...)."""
    configure_logging(verbose=verbose, fmt=log_format)
    _STATE["config"] = config


def app(*, wait_for_db: bool = False) -> App:
    """The wired application, built once per command, with the schema brought up to date.

    ``wait_for_db``: long-running commands wait (with backoff, logged) for a database that is not there
    yet, and exit 0 if stopped meanwhile; every other command fails at once with one line (see main).
    """
    if "app" not in _STATE:
        settings = load_settings(_STATE.get("config"))
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
            help="A configured source name, a feed or article page URL, or a file path. "
            "Default: every source in the config."
        ),
    ] = None,
    fmt: FormatOption = Format.table,
    backfill: Annotated[
        int | None,
        typer.Option(
            "--backfill",
            min=0,
            help="On a source's first poll, treat its N newest items as new (default: the source's "
            "backfill setting, 0). The rest of its back catalogue is recorded as seen, never sent.",
        ),
    ] = None,
) -> None:
    """Fetch sources and store their new or edited articles."""
    from distro.services.ingest import ingest

    reports = ingest(app(), source, backfill=backfill)
    columns = ["source", "new", "backlog", "updated", "unchanged", "not_modified", "error"]
    show(reports, columns, fmt, "ingest")
    failed = [r for r in reports if r.error]
    if failed:
        raise DistroError(failed[0].error or "ingest failed")


@cli.command()
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
        from distro.services.jobs import run_once

        summary = run_once(app())
        for report in summary.ingested:
            console.print(f"ingested {report.source}: {report.new} new, {report.updated} updated")
        for prefix, (result, rows) in summary.digests.items():
            if result.digest:
                console.print(f"digest {result.digest.slug}: {rows} new deliveries queued")
            else:
                console.print(f"digest {prefix}: {result.reason}")
        console.print(f"social: {summary.social_rows} new deliveries queued")
        for name, rep in summary.dispatched.items():
            console.print(
                f"dispatch {name}: {rep.sent} sent, {rep.temporary} to retry, {rep.permanent} failed, "
                f"{rep.suppressed} suppressed" + (" (paused)" if rep.paused else "")
            )
        return
    from distro.scheduler import run_service

    if role not in ("all", "scheduler", "worker", "web"):
        raise DistroError(f"unknown role {role!r}: use all, scheduler, worker or web")
    run_service(app(wait_for_db=True), role=role, host=host, port=port)


@cli.command(name="dispatch")
def dispatch_command(
    channel: Annotated[
        list[str] | None, typer.Option("--channel", help="Only this channel (repeatable).")
    ] = None,
) -> None:
    """Send every queued delivery that is due, on every enabled channel."""
    from distro.services.delivery import dispatch

    application = app()
    with ticker(console, "sending", _due_count(application, channel)) as tick:
        reports = dispatch(application, channel, progress=tick)
    for name, rep in reports.items():
        console.print(
            f"{name}: {rep.sent} sent, {rep.temporary} to retry, {rep.permanent} failed, "
            f"{rep.suppressed} suppressed"
        )


@cli.command(name="worker")
def worker_command(
    channel: Annotated[
        list[str] | None, typer.Option("--channel", help="Only this channel (repeatable).")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="One pass over the due rows, then exit.")] = False,
) -> None:
    """Run a dispatch worker until SIGTERM/SIGINT (any number, on any number of machines).

    On a signal the message in flight is finished and recorded, the rest is released, and it exits 0.
    """
    from distro.worker import run_worker

    report = run_worker(app(wait_for_db=not once), channel, once=once)
    for name, rep in report.channels.items():
        console.print(
            f"{name}: {rep.sent} sent, {rep.temporary} to retry, {rep.permanent} failed, "
            f"{rep.suppressed} suppressed" + (" (paused)" if rep.paused else "")
        )


@cli.command(name="log")
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
    newsletter: NewsletterOption = None,
) -> None:
    """Compose the upcoming edition (if needed) and write the exact HTML and text that would be sent."""
    from distro.services.digest import compose_weekly, preview, upcoming_at

    application = app().for_newsletter(newsletter)
    result = compose_weekly(application, slug_at=upcoming_at(application))
    if result.digest is None:
        raise DistroError(f"nothing to preview: {result.reason}")
    try:
        html_path, text_path, _ = preview(application, result.digest, email=subscriber)
    except LookupError as exc:
        raise DistroError(str(exc)) from None
    console.print(str(html_path.resolve()))
    console.print(str(text_path.resolve()))
    if result.warning:
        console.print(f"warning: {result.warning}")
    if open_:
        webbrowser.open(html_path.resolve().as_uri())


@digest_cli.command("edit")
def digest_edit(
    intro: Annotated[Path | None, typer.Option(help="Markdown intro file ('-' clears it).")] = None,
    pin: Annotated[int | None, typer.Option(help="Article id to lead the digest.")] = None,
    unpin: Annotated[bool, typer.Option(help="Drop the pinned lead story.")] = False,
    exclude: Annotated[list[int] | None, typer.Option(help="Article id to leave out (repeatable).")] = None,
    include: Annotated[list[int] | None, typer.Option(help="Excluded article id to put back.")] = None,
    max_stories: Annotated[int | None, typer.Option(help="At most this many stories.")] = None,
    days: Annotated[
        int | None, typer.Option(help="Window: the last N days (0: since the previous digest).")
    ] = None,
    section: Annotated[list[str] | None, typer.Option(help="Section order (repeatable).")] = None,
    newsletter: NewsletterOption = None,
) -> None:
    """Change the upcoming edition before it is queued, then preview again; recomposes it at once."""
    from distro.services.digest import upcoming_at
    from distro.services.digest_edit import EditChanges, save_edit

    text: str | None = None
    if intro is not None:
        try:
            text = "" if str(intro) == "-" else intro.read_text(encoding="utf-8")
        except OSError as exc:
            raise DistroError(f"--intro {intro}: {exc.strerror or exc}") from None
    changes = EditChanges(
        intro=text,
        pin=pin,
        unpin=unpin,
        exclude=tuple(exclude or ()),
        include=tuple(include or ()),
        max_stories=max_stories,
        window_days=days,
        sections=tuple(section) if section else None,
    )
    application = app().for_newsletter(newsletter)
    result = save_edit(application, changes, slug_at=upcoming_at(application))
    if result.digest is None:
        console.print(f"edit saved; nothing to compose: {result.reason}")
        return
    digest = result.digest
    console.print(f"digest {digest.slug}: {len(digest.article_ids)} stories, '{digest.subject}'")
    if result.warning:
        console.print(f"warning: {result.warning}")


@digest_cli.command("test")
def digest_test(
    to: Annotated[str, typer.Option("--to", help="Address that gets the test copy.")],
    newsletter: NewsletterOption = None,
) -> None:
    """Send one copy of this week's digest to --to now, subject "[TEST] ...", logged apart."""
    from distro.services.digest import compose_weekly, upcoming_at
    from distro.services.digest_edit import send_test

    application = app().for_newsletter(newsletter)
    result = compose_weekly(application, slug_at=upcoming_at(application))
    if result.digest is None:
        raise DistroError(f"nothing to test: {result.reason}")
    row = send_test(application, result.digest, to)
    reason = f" ({row.last_error})" if row.last_error else ""
    console.print(f"{row.key}: {row.status} to {row.recipient}{reason}")
    if row.status != "sent":
        raise typer.Exit(1)


@digest_cli.command("send")
def digest_send(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    no_dispatch: Annotated[
        bool, typer.Option("--no-dispatch", help="Only queue; leave sending to workers.")
    ] = False,
    newsletter: NewsletterOption = None,
) -> None:
    """Compose and queue this week's digest for every active subscriber, then send it."""
    from distro.services.delivery import dispatch
    from distro.services.digest import compose_weekly, count_recipients, queue_digest, upcoming_at

    application = app().for_newsletter(newsletter)
    result = compose_weekly(application, slug_at=upcoming_at(application))
    if result.digest is None:
        console.print(f"nothing sent: {result.reason}")
        return
    recipients = count_recipients(application)
    if result.warning:
        console.print(f"warning: {result.warning}")
    if not yes and not typer.confirm(f"Send '{result.digest.subject}' to {recipients} subscribers?"):
        raise typer.Exit(1)
    with ticker(console, "queueing", recipients) as tick:
        created = queue_digest(application, result.digest, progress=tick)
    console.print(f"digest {result.digest.slug}: {created} new deliveries queued ({recipients} recipients)")
    if not no_dispatch:
        with ticker(console, "sending", created) as tick:
            rep = dispatch(application, ["email"], progress=tick)["email"]
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
    path: Annotated[
        Path, typer.Argument(help="UTF-8 CSV with a header: email,name,sections[,newsletters][,status].")
    ],
) -> None:
    """Import subscribers from CSV (as export-csv writes it): the whole file is checked first, every bad
    line is reported, and the good rows are written in one transaction. Never re-subscribes someone who
    left, bounced or is suppressed."""
    from distro.services.subscribers import import_csv

    with ticker(console, "importing", _data_lines(path)) as tick:
        report = import_csv(app(), path, progress=tick)
    console.print(f"{report.added} added, {report.existing} already known, {len(report.rejected)} rejected")
    for line, reason in report.rejected:
        err.print(f"  {path}:{line}: {reason}")


@subscribers_cli.command("list")
def subscribers_list(
    limit: Annotated[int, typer.Option(help="At most this many.")] = 1000,
    fmt: FormatOption = Format.table,
) -> None:
    """Subscribers with their status (bounced or suppressed: on the suppression list) and sections."""
    from distro.services.subscribers import list_subscribers

    show(
        list_subscribers(app(), limit=limit),
        ["id", "email", "name", "status", "sections", "created_at"],
        fmt,
        "subscribers",
    )


@subscribers_cli.command("export-csv")
def subscribers_export_csv(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).")] = (
        None
    ),
) -> None:
    """Every subscriber as CSV (email,name,sections,newsletters,status,...), readable by `import`."""
    from distro.services.subscribers import export_csv

    if output is None:
        export_csv(app(), sys.stdout)
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        count = export_csv(app(), handle)
    err.print(f"{count} subscribers written to {output}")


@subscribers_cli.command("export")
def subscribers_export(email: Annotated[str, typer.Argument(help="The address.")]) -> None:
    """Print, as JSON, everything stored about one address (a data-protection access request)."""
    from distro.services.privacy import export_subscriber

    sys.stdout.write(json.dumps(export_subscriber(app(), email), indent=2, ensure_ascii=False) + "\n")


@subscribers_cli.command("forget")
def subscribers_forget(
    email: Annotated[str, typer.Argument(help="The address.")],
    suppress: Annotated[bool, typer.Option(help="Also never mail it again (keeps it on the list).")] = False,
) -> None:
    """Delete personal data about one address; its delivery-log rows stay, with the address hashed."""
    from distro.services.privacy import forget_subscriber

    counts = forget_subscriber(app(), email, suppress_address=suppress)
    console.print(", ".join(f"{name}: {count}" for name, count in counts.items()))


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input (for scripts).")
]


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@editors_cli.command("add")
def editors_add(
    email: Annotated[str, typer.Argument(help="The editor's address (their sign-in name).")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a desk account; the password is asked for twice (or read from stdin) and stored hashed."""
    from distro.services.editors import add_editor

    add_editor(app(), email, _new_password(password_stdin))
    console.print(f"{email}: can sign in at {app().settings.web.public_url.rstrip('/')}/desk")


@editors_cli.command("passwd")
def editors_passwd(
    email: Annotated[str, typer.Argument(help="The editor's address.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password; the editor's open sessions end and a lockout is lifted."""
    from distro.services.editors import set_password

    set_password(app(), email, _new_password(password_stdin))
    console.print(f"{email}: password changed, signed out everywhere")


@editors_cli.command("remove")
def editors_remove(email: Annotated[str, typer.Argument(help="The editor's address.")]) -> None:
    """Delete a desk account and end its sessions at once."""
    from distro.services.editors import remove_editor

    remove_editor(app(), email)
    console.print(f"{email}: removed")


@editors_cli.command("list")
def editors_list(fmt: FormatOption = Format.table) -> None:
    """Desk accounts with their last sign-in and lockout (never the password hash)."""
    from distro.services.editors import list_editors

    rows = [
        {
            "email": e.email,
            "created_at": e.created_at,
            "last_login_at": e.last_login_at,
            "failed_logins": e.failed_logins,
            "locked_until": e.locked_until,
        }
        for e in list_editors(app())
    ]
    show(rows, ["email", "created_at", "last_login_at", "failed_logins", "locked_until"], fmt, "editors")


@accounts_cli.command("list")
def accounts_list(fmt: FormatOption = Format.table) -> None:
    """Every configured social account: mode, token (never shown), status, expiry and queued posts."""
    from distro.accounts import list_accounts

    application = app()
    show(
        list_accounts(application.engine, application.settings),
        ["channel", "mode", "sections", "status", "token", "expires_at", "pending", "last_error"],
        fmt,
        "social accounts",
    )


AuthAccount = Annotated[str | None, typer.Option("--account", help="The account (default: the first).")]


@auth_cli.command("x")
def auth_x(account: AuthAccount = None) -> None:
    """OAuth 1.0a PIN flow: open the printed address, authorise the app, type the PIN X shows."""
    from distro.auth import authorize_x

    application = app()
    authorize_x(application.engine, application.settings, account=account, ask=input, say=typer.echo)


@auth_cli.command("facebook")
def auth_facebook(account: AuthAccount = None) -> None:
    """OAuth 2.0: allow the app, paste the address you land on; stores the Page's token (no expiry)."""
    from distro.auth import authorize_facebook

    application = app()
    authorize_facebook(application.engine, application.settings, account=account, ask=input, say=typer.echo)


def _post_ids(
    delivery_id: int | None, article: int | None, platform: str | None, account: str | None
) -> list[int]:
    from distro.services.plan import find_deliveries

    if delivery_id is not None:
        return [delivery_id]
    if article is None or platform is None:
        raise typer.BadParameter("give a DELIVERY_ID, or --article and --platform")
    found = find_deliveries(app().engine, article_id=article, platform=platform, account=account)
    if not found:
        raise DistroError(f"article {article} has no queued {platform} post; see `distro log`")
    return found


DeliveryArg = Annotated[int | None, typer.Argument(help="The delivery id (see `distro log`).")]
ArticleOpt = Annotated[int | None, typer.Option("--article", help="Or: the article id ...")]
PlatformOpt = Annotated[str | None, typer.Option("--platform", help="... and the platform.")]
AccountOpt = Annotated[str | None, typer.Option("--account", help="Only this account's post.")]


@social_cli.command("hold")
def social_hold(
    delivery_id: DeliveryArg = None,
    article: ArticleOpt = None,
    platform: PlatformOpt = None,
    account: AccountOpt = None,
) -> None:
    """Hold a queued post back: it stays queued and no worker sends it until `distro social release`."""
    from distro.services.plan import hold

    ids = _post_ids(delivery_id, article, platform, account)
    try:
        console.print(f"held: {hold(app().engine, ids)}")
    except ValueError as exc:
        raise DistroError(str(exc)) from None


@social_cli.command("release")
def social_release(
    delivery_id: DeliveryArg = None,
    article: ArticleOpt = None,
    platform: PlatformOpt = None,
    account: AccountOpt = None,
) -> None:
    """Release a held post: it goes out at its account's next free slot (see posting plans)."""
    from distro.services.plan import release

    ids = _post_ids(delivery_id, article, platform, account)
    try:
        console.print(f"released: {release(app().engine, app().settings, ids)}")
    except ValueError as exc:
        raise DistroError(str(exc)) from None


@social_cli.command("edit")
def social_edit(
    article_id: Annotated[int, typer.Argument(help="The article (see `distro articles list`).")],
    platform: Annotated[str, typer.Option("--platform", help="x, facebook, mastodon or bluesky.")],
    text: Annotated[str, typer.Option("--text", help="The post's new text, link included where it goes.")],
    account: Annotated[str | None, typer.Option("--account", help="Only this account's post.")] = None,
) -> None:
    """Replace a planned post's text before it is sent (checked against the platform's length rule)."""
    from distro.services.social import edit_post

    try:
        changed = edit_post(app(), article_id, platform, text, account)
    except ValueError as exc:
        raise DistroError(f"social edit: {exc}") from None
    console.print(f"{changed} {platform} post(s) of article {article_id} updated")


@sources_cli.command("list")
def sources_list(fmt: FormatOption = Format.table) -> None:
    """Every source with its last poll, last error, next poll and WebSub state."""
    from distro.services.ingest import list_sources

    columns = ["name", "kind", "articles", "last_polled_at", "next_poll_at", "websub", "last_error", "url"]
    show(list_sources(app()), columns, fmt, "sources")


@cli.command(name="web")
def web_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web app with uvicorn; put a TLS proxy in front and name it in web.forwarded_allow_ips."""
    from distro.web.app import create_web_app
    from distro.web.serve import serve

    application = app()
    serve(create_web_app(application), application.settings.web, host=host, port=port)


@cli.command("status")
def status_command(fmt: FormatOption = Format.table) -> None:
    """Sources (last poll, error, next poll), scheduled jobs, queue depth per channel, failures in 24 h."""
    from distro.services.status import collect

    status = collect(app())
    if fmt == Format.json:
        sys.stdout.write(json.dumps(_plain(status), indent=2, ensure_ascii=False) + "\n")
        return
    show(status.sources, ["source", "last_poll", "next_poll", "last_error"], fmt, "sources")
    show(status.jobs, ["job", "trigger", "next_run"], fmt, "scheduled jobs")
    show(
        status.channels,
        [
            "channel",
            "pending",
            "sending",
            "sent",
            "failed",
            "suppressed",
            "failed_attempts_24h",
            "oldest_pending",
        ],
        fmt,
        "queues",
    )


def _data_lines(path: Path) -> int | None:
    """Rows in a CSV file (for the progress bar); None when it cannot be read (import reports why)."""
    try:
        with path.open("rb") as handle:
            return max(sum(1 for _ in handle) - 1, 0)
    except OSError:
        return None


def _due_count(application: App, channels: list[str] | None) -> int:
    from distro.outbox import counts_by_status

    names = channels or application.enabled_channels()
    return sum(counts_by_status(application.engine, name).get("pending", 0) for name in names)


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


if __name__ == "__main__":
    main()
