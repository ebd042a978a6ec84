"""``distro report``: what became of an edition, or the trend across the last ones."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.table import Table

from distro.cli.context import Format, FormatOption, app, console
from distro.cli.reports import plain, print_json, show


def report_command(
    edition: Annotated[
        str | None, typer.Argument(help="An edition's slug; default: the latest sent.")
    ] = None,
    newsletter: Annotated[
        str | None, typer.Option(help="A newsletter's slug prefix (default: the main one).")
    ] = None,
    trend: Annotated[bool, typer.Option("--trend", help="The last editions side by side instead.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Recipients, sent, bounces, complaints, unsubscribes, clicks per link and click rate: counted in
    aggregate, link scanners left out."""
    from distro.services.report import edition_report
    from distro.services.report import trend as trend_of

    if trend:
        points = trend_of(app(), newsletter=newsletter)
        columns = [
            "slug",
            "queued_at",
            "recipients",
            "sent",
            "click_rate",
            "unsubscribes",
            "complaints",
            "hard_bounces",
        ]
        show(points, columns, fmt, "trend")
        return
    report = edition_report(app(), edition, newsletter=newsletter)
    data: dict[str, Any] = {
        **asdict(report),
        "click_rate": report.click_rate,
        "unsubscribe_rate": report.unsubscribe_rate,
    }
    if fmt == Format.json:
        print_json(data)
        return
    figures = Table(title=f"{report.slug}: {report.subject}", show_header=False)
    figures.add_column("figure")
    figures.add_column("value", justify="right")
    for name in (
        "recipients",
        "sent",
        "failed",
        "pending",
        "suppressed",
        "hard_bounces",
        "soft_bounces",
        "complaints",
        "unsubscribes",
        "clicks",
        "unique_clickers",
    ):
        figures.add_row(name.replace("_", " "), str(data[name]))
    figures.add_row("click rate", f"{report.click_rate:.1%}")
    if report.opens is not None:
        figures.add_row("opens (people)", str(report.opens))
        figures.add_row("machine opens", str(report.machine_opens))
    for platform, clicks in sorted(report.social_clicks.items()):
        figures.add_row(f"clicks from {platform}", str(clicks))
    console.print(figures)
    if report.links:
        show(plain(report.links), ["index", "title", "url", "clicks", "unique"], fmt, "links")
