"""Progress bars: drawn (with rate and ETA) on a terminal, absent everywhere else."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from distro.app import App
from distro.progress import Silent, ticker, track


def test_without_a_terminal_nothing_is_printed_and_items_pass_unchanged() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False)
    assert list(track(range(5), console, "importing")) == [0, 1, 2, 3, 4]
    with ticker(console, "queueing", total=3) as tick:
        assert isinstance(tick, Silent)
        tick.advance(3)
    assert out.getvalue() == ""


def test_on_a_terminal_the_bar_shows_count_rate_and_eta() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    with ticker(console, "sending", total=None) as tick:
        tick.total(4)
        tick.advance(2)
        tick.advance(2)
    drawn = out.getvalue()
    assert "sending" in drawn and "4/4" in drawn and "/s" in drawn and "ETA" in drawn
    assert list(track(["a", "b"], console, "import")) == ["a", "b"]
    assert "2/2" in out.getvalue()


def test_import_draws_a_bar_on_a_terminal_and_reports_the_same(app: App, tmp_path: Path) -> None:
    from distro.services.subscribers import import_csv

    people = tmp_path / "people.csv"
    people.write_text("email,name\n" + "".join(f"r{i}@example.org,R{i}\n" for i in range(50)))
    console = Console(force_terminal=True, width=100, file=io.StringIO())
    with ticker(console, "importing", 50) as tick:
        report = import_csv(app, people, progress=tick)
    assert report.added == 50
    assert "importing" in console.file.getvalue()  # type: ignore[attr-defined]
