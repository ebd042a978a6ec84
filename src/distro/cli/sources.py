"""``distro ingest``, ``distro sources`` and ``distro articles``: where articles come from, and what came."""

from __future__ import annotations

from typing import Annotated

import typer

from distro.cli.context import Format, FormatOption, app
from distro.cli.reports import show
from distro.errors import DistroError

group = typer.Typer(help="The sources articles come from.", no_args_is_help=True)
articles_group = typer.Typer(help="Articles stored from your sources.", no_args_is_help=True)


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


@group.command("list")
def sources_list(fmt: FormatOption = Format.table) -> None:
    """Every source (config file, desk, or polled before) with its poll state and WebSub state."""
    from distro.services.ingest import list_sources

    columns = ["name", "origin", "kind", "paused", "articles", "last_polled_at", "next_poll_at", "websub"]
    columns += ["last_error", "url"]
    show(list_sources(app()), columns, fmt, "sources")


@articles_group.command("list")
def articles_list(
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    fmt: FormatOption = Format.table,
) -> None:
    """Articles stored from your sources, newest first."""
    from distro.services.articles import list_articles

    rows = list_articles(app(), limit)
    show(rows, ["id", "published_at", "section", "title", "author", "url"], fmt, "articles")
