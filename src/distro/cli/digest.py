"""``distro digest``: compose, preview, edit, test and send the upcoming edition of a newsletter, and keep
an edition out of the web archive."""

from __future__ import annotations

import webbrowser
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from distro.cli.context import NewsletterOption, app, console
from distro.cli.reports import print_dispatch
from distro.errors import DistroError
from distro.progress import ticker

if TYPE_CHECKING:
    from distro.app import App
    from distro.models import Digest
    from distro.services.digest_check import CheckReport
    from distro.services.digest_compose import DigestResult
    from distro.services.digest_send import Ready
    from distro.settings import DigestSettings

group = typer.Typer(help="Compose, preview and send the weekly digest.", no_args_is_help=True)


@group.command("preview")
def digest_preview(
    subscriber: Annotated[
        str | None, typer.Option("--subscriber", help="Personalise for this address.")
    ] = None,
    open_: Annotated[bool, typer.Option("--open", help="Open the HTML in a browser.")] = False,
    newsletter: NewsletterOption = None,
) -> None:
    """Compose the upcoming edition (if needed) and write the exact HTML and text that would be sent."""
    from distro.services.digest_preview import preview

    application, chosen = _newsletter(newsletter)
    result = _upcoming(application, chosen)
    if result.digest is None:
        raise DistroError(f"nothing to preview: {result.reason}")
    html_path, text_path, _ = preview(application, chosen, result.digest, email=subscriber)
    console.print(str(html_path.resolve()))
    console.print(str(text_path.resolve()))
    if result.warning:
        console.print(f"warning: {result.warning}")
    _print_report(_report(application, chosen, result.digest))
    if open_:
        webbrowser.open(html_path.resolve().as_uri())


@group.command("check")
def digest_check(
    spam: Annotated[
        bool, typer.Option("--spam/--no-spam", help="Score with SpamAssassin if installed.")
    ] = True,
    test_copy: Annotated[
        bool, typer.Option("--test-copy", help="Check for one test copy (no DKIM/https rule).")
    ] = False,
    newsletter: NewsletterOption = None,
) -> None:
    """Pre-flight the upcoming edition: template, Gmail clip size, links, alt text, headings, spam score,
    and DKIM and https for a bulk send over SMTP. Exits 1 when sending would be refused."""
    application, chosen = _newsletter(newsletter)
    result = _upcoming(application, chosen)
    if result.digest is None:
        raise DistroError(f"nothing to check: {result.reason}")
    report = _report(application, chosen, result.digest, bulk=not test_copy, spam=spam)
    _print_report(report)
    if report.errors:
        raise typer.Exit(1)
    console.print(f"{result.digest.slug}: ready to send")


def _report(
    application: App, newsletter: DigestSettings, digest: Digest, *, bulk: bool = True, spam: bool = True
) -> CheckReport:
    from distro.services.digest_check import check_edition

    return check_edition(application, newsletter, digest, bulk=bulk, spam=spam)


def _print_report(report: CheckReport) -> None:
    for finding in report.findings:
        console.print(str(finding), markup=False, highlight=False)
    if report.spam is not None:
        rules = ", ".join(report.spam.rules) or "none"
        console.print(
            f"spamassassin: {report.spam.score:.1f} (required {report.spam.required:.1f}; rules: {rules})"
        )


def _refuse(report: CheckReport, slug: str) -> None:
    """Print the report; DistroError with the first error as the one-line reason when there is one."""
    _print_report(report)
    if report.errors:
        raise DistroError(f"pre-flight refused {slug}: {report.errors[0].message}")


@group.command("edit")
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
    from distro.services.activity import cli_actor
    from distro.services.digest_calendar import upcoming_at
    from distro.services.digest_edit import EditChanges, save_edit

    changes = EditChanges(
        intro=_intro_text(intro),
        pin=pin,
        unpin=unpin,
        exclude=tuple(exclude or ()),
        include=tuple(include or ()),
        max_stories=max_stories,
        window_days=days,
        sections=tuple(section) if section else None,
    )
    application, chosen = _newsletter(newsletter)
    result = save_edit(application, chosen, changes, at=upcoming_at(application, chosen), actor=cli_actor())
    if result.digest is None:
        console.print(f"edit saved; nothing to compose: {result.reason}")
        return
    digest = result.digest
    console.print(f"digest {digest.slug}: {len(digest.article_ids)} stories, '{digest.subject}'")
    if result.warning:
        console.print(f"warning: {result.warning}")


def _intro_text(intro: Path | None) -> str | None:
    """The intro file's text ('' for '-', which clears it; None: leave the intro as it is)."""
    if intro is None:
        return None
    try:
        return "" if str(intro) == "-" else intro.read_text(encoding="utf-8")
    except OSError as exc:
        raise DistroError(f"--intro {intro}: {exc.strerror or exc}") from None


@group.command("test")
def digest_test(
    to: Annotated[str, typer.Option("--to", help="Address that gets the test copy.")],
    newsletter: NewsletterOption = None,
) -> None:
    """Send one copy of this week's digest to --to now, subject "[TEST] ...", logged apart."""
    from distro.services.activity import cli_actor
    from distro.services.digest_edit import send_test

    application, chosen = _newsletter(newsletter)
    result = _upcoming(application, chosen)
    if result.digest is None:
        raise DistroError(f"nothing to test: {result.reason}")
    row = send_test(application, result.digest, to, actor=cli_actor())
    reason = f" ({row.last_error})" if row.last_error else ""
    console.print(f"{row.key}: {row.status} to {row.recipient}{reason}")
    if row.status != "sent":
        raise typer.Exit(1)


@group.command("send")
def digest_send(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    no_dispatch: Annotated[
        bool, typer.Option("--no-dispatch", help="Only queue; leave sending to workers.")
    ] = False,
    newsletter: NewsletterOption = None,
) -> None:
    """Compose and queue this week's digest for every active subscriber, then send it."""
    from distro.services.activity import cli_actor
    from distro.services.delivery import dispatch
    from distro.services.digest_calendar import upcoming_at
    from distro.services.digest_send import send_edition

    application, chosen = _newsletter(newsletter)
    upcoming = _upcoming(application, chosen)
    if upcoming.digest is not None and upcoming.digest.queued_at is None:
        _refuse(_report(application, chosen, upcoming.digest), upcoming.digest.slug)
    sent = send_edition(
        application,
        chosen,
        at=upcoming_at(application, chosen),
        confirm=partial(_confirm, yes),
        progress=partial(ticker, console, "queueing"),
        actor=cli_actor(),
    )
    if sent.digest is None:
        console.print(f"nothing sent: {sent.reason}")
        return
    if not sent.confirmed:
        raise typer.Exit(1)
    console.print(
        f"digest {sent.digest.slug}: {sent.queued} new deliveries queued ({sent.recipients} recipients)"
    )
    if not no_dispatch:
        with ticker(console, "sending", sent.queued) as tick:
            reports = dispatch(application, ["email"], progress=tick)
        print_dispatch({"email": reports["email"]})


@group.command("archive")
def digest_archive(
    slug: Annotated[str, typer.Argument(help="The edition, e.g. weekly-2026-W48.")],
    show: Annotated[bool, typer.Option("--on/--off", help="Show it in the web archive, or keep it out.")],
) -> None:
    """Keep one edition out of the public web archive (--off), or show it there once sent (--on)."""
    from distro.services.activity import cli_actor
    from distro.services.archive import edition_url, set_archived

    application = app()
    digest = set_archived(application, slug, show, actor=cli_actor())
    if not show:
        console.print(f"{digest.slug}: kept out of the archive")
        return
    console.print(
        f"{digest.slug}: shown in the archive once sent, at {edition_url(application.settings, slug)}"
    )
    newsletters = application.settings.all_newsletters
    if not any(n.slug_prefix == digest.newsletter and n.archive for n in newsletters):
        console.print(f"note: newsletter {digest.newsletter!r} has archive = false: none of it is shown")


def _confirm(yes: bool, ready: Ready) -> bool:
    """Show the edition's warnings, then ask "Send ... to N subscribers?" (N: exactly who gets a row)."""
    for warning in ready.warnings:
        console.print(f"warning: {warning}")
    return yes or typer.confirm(f"Send '{ready.digest.subject}' to {ready.recipients} subscribers?")


def _newsletter(name: str | None) -> tuple[App, DigestSettings]:
    """The application and the newsletter ``--newsletter`` names (None: the main digest)."""
    application = app()
    return application, application.settings.newsletter(name)


def _upcoming(application: App, newsletter: DigestSettings) -> DigestResult:
    """The edition the editor works on (see ``upcoming_at``), composed if it is not yet."""
    from distro.services.digest_calendar import upcoming_at
    from distro.services.digest_compose import open_edition

    return open_edition(application, newsletter, at=upcoming_at(application, newsletter))
