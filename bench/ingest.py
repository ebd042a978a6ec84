"""Ingest speed and memory for a 10,000-item feed, against feedparser alone, measured in the same run.

Rows:

1. baseline: ``feedparser.parse`` of the bytes with its defaults, its own HTML sanitiser and relative-URI
   resolver on (what any feed reader pays);
2. distro parse: ``parse_feed`` to drafts: feedparser with those two passes off where they cannot change a
   draft (distro.sources.feed_html), then plain text through nh3, safe URLs, the first image, dedupe;
3. distro ingest, first poll: fetch over a loopback HTTP server, parse, store into a fresh SQLite
   database (every item a new row; back catalogue flagged);
4. distro ingest, unchanged: the same source polled again (the server answers 304).

Each row is timed ``--repeat`` times (3), the rows taking turns, and its fastest run kept; peak memory is
Python's own allocations during one more run (tracemalloc), so rows compare fairly.

    python bench/ingest.py [--items 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import feedparser  # noqa: E402

from distro.app import build_app  # noqa: E402
from distro.db import upgrade  # noqa: E402
from distro.services.ingest import ingest  # noqa: E402
from distro.settings import Settings, SourceSettings  # noqa: E402
from distro.sources.feed import parse_feed  # noqa: E402


def make_feed(items: int) -> bytes:
    """A WordPress-like RSS 2.0 feed: HTML summaries, categories, an image, authors, dates."""
    entries = []
    for n in range(items):
        entries.append(
            f"<item><title>Story {n}: a headline of ordinary length &amp; an entity</title>"
            f"<link>https://bench.example/2026/11/story-{n}/</link>"
            f'<guid isPermaLink="false">https://bench.example/?p={n}</guid>'
            f"<pubDate>Mon, 23 Nov 2026 {n % 24:02d}:{n % 60:02d}:00 +0000</pubDate>"
            f"<dc:creator>Author {n % 17}</dc:creator><category>Section {n % 5}</category>"
            f"<category>Tag {n % 31}</category>"
            f"<description><![CDATA[<p>Summary of story {n} with <b>markup</b>, a "
            f'<a href="https://bench.example/{n}">link</a> and <img src="/img/{n}.jpg"> an image. '
            + "More words to make the summary realistic. " * 4
            + "</p>]]></description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Bench</title>'
        "<link>https://bench.example/</link>" + "".join(entries) + "</channel></rss>"
    ).encode()


def serve(body: bytes) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.headers.get("If-None-Match") == '"bench"':
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", '"bench"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/feed"


Prepare = Callable[[], Callable[[], int]]


def measure(prepares: list[Prepare], repeat: int) -> list[tuple[float, int, float]]:
    """(seconds, items handled, peak MiB) per row: its fastest of ``repeat`` untraced runs, then one run
    under tracemalloc for memory.

    The rows take turns (baseline, parse, first poll, 304, then again), so on a machine others are using
    every row meets the same comings and goings of load, and its best run is the one least disturbed.
    ``prepare`` builds a fresh run each time (a new database for the ingest rows), so every run does the
    same work.
    """
    best = [float("inf")] * len(prepares)
    handled = [0] * len(prepares)
    for _ in range(repeat):
        for row, prepare in enumerate(prepares):
            run = prepare()
            started = time.perf_counter()
            handled[row] = run()
            best[row] = min(best[row], time.perf_counter() - started)
    return [(best[row], handled[row], traced_peak(prepare)) for row, prepare in enumerate(prepares)]


def traced_peak(prepare: Prepare) -> float:
    """The peak MiB of Python's own allocations during one run."""
    run = prepare()
    tracemalloc.start()
    run()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def ingest_run(tmp: Path, url: str, *, polls: int) -> Callable[[], int]:
    """A fresh SQLite database and source; the returned run does the last of ``polls`` polls."""
    folder = Path(tempfile.mkdtemp(dir=tmp))
    source = SourceSettings(name="bench", url=url, allow_private_addresses=True, max_bytes=200 * 2**20)
    settings = Settings(
        database_url=f"sqlite:///{folder}/bench.db",
        var_dir=folder / "var",
        templates_dir=ROOT / "templates",
        sources=[source],
    )
    app = build_app(settings)
    upgrade(app.engine)
    for _ in range(polls - 1):
        ingest(app)

    def run() -> int:
        [report] = ingest(app)
        return report.new if not report.not_modified else report_items(app)

    return run


def report_items(app: Any) -> int:
    """Items a 304 poll stood for: the rows already stored."""
    import sqlalchemy as sa

    from distro.models import Article

    with app.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(Article)).scalar_one())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per row, the fastest kept")
    args = parser.parse_args(argv)
    data = make_feed(args.items)
    server, url = serve(data)
    with tempfile.TemporaryDirectory() as tmp:
        rows: dict[str, Prepare] = {
            "feedparser.parse (baseline)": lambda: lambda: len(feedparser.parse(io.BytesIO(data)).entries),
            "distro parse_feed": lambda: lambda: len(parse_feed(data, source="bench")),
            "distro ingest, first poll (HTTP+SQLite)": lambda: ingest_run(Path(tmp), url, polls=1),
            "distro ingest, unchanged (304)": lambda: ingest_run(Path(tmp), url, polls=2),
        }
        results = measure(list(rows.values()), max(1, args.repeat))
    server.shutdown()
    baseline = results[0]
    base_rate = baseline[1] / baseline[0]
    print(f"{args.items} items, feed {len(data) / 2**20:.1f} MiB, best of {max(1, args.repeat)} runs per row")
    print(f"{'row':42} {'items/s':>10} {'vs base':>8} {'peak MiB':>9} {'vs base':>8}")
    for name, (seconds, items, peak) in zip(rows, results, strict=True):
        rate = items / seconds if seconds else float("inf")
        print(f"{name:42} {rate:10.0f} {rate / base_rate:7.2f}x {peak:9.1f} {peak / baseline[2]:7.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
