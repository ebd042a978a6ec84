"""Progress bars for long CLI work (import, queueing, dispatch, backfill), only on a terminal.

Services take an optional ``progress: Ticker`` and call ``ticker.advance(n)``; they never know whether a bar
is drawn. On a non-terminal (pipes, cron, tests) :func:`ticker` returns a ticker that does nothing, so the
command's output stays exactly what scripts parse. Bars are transient: they vanish
when the work is done, leaving only the command's own summary line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

T = TypeVar("T")


class Ticker(Protocol):
    """What a service reports progress to."""

    def advance(self, count: int = 1) -> None: ...

    def total(self, total: int | None) -> None: ...


class Silent:
    """The ticker for a non-terminal: does nothing, prints nothing."""

    def advance(self, count: int = 1) -> None:
        return None

    def total(self, total: int | None) -> None:
        return None


class _RichTicker:
    def __init__(self, bar: Progress, task: TaskID) -> None:
        self._bar = bar
        self._task = task

    def advance(self, count: int = 1) -> None:
        self._bar.advance(self._task, count)

    def total(self, total: int | None) -> None:
        self._bar.update(self._task, total=total)


class _RateColumn(TransferSpeedColumn):
    """Items per second (rich's own speed column speaks bytes)."""

    def render(self, task):  # type: ignore[no-untyped-def]  # rich's signature
        from rich.text import Text

        speed = task.finished_speed or task.speed
        return Text("?/s" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")


def bar_columns() -> tuple[object, ...]:
    return (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        _RateColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )


@contextmanager
def ticker(console: Console, description: str, total: int | None = None) -> Iterator[Ticker]:
    """A progress bar with count, rate and ETA on a terminal; a silent ticker anywhere else."""
    if not console.is_terminal:
        yield Silent()
        return
    with Progress(*bar_columns(), console=console, transient=True) as bar:  # type: ignore[arg-type]
        yield _RichTicker(bar, bar.add_task(description, total=total))


def track(items: Iterable[T], console: Console, description: str, total: int | None = None) -> Iterator[T]:
    """Yield ``items`` unchanged, advancing a bar per item on a terminal."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with ticker(console, description, total) as tick:
        for item in items:
            yield item
            tick.advance()
