"""Send throughput: personalised digests into Postfix's smtp-sink on loopback, three ways, in one run.

Rows, each at the same number of connections (one process per connection):

1. distro end to end: ``dispatch`` claims outbox rows, personalises the prepared digest, sends through
   ``SmtpChannel`` (email.mode = smtp) and records every outcome in the database (SQLite, fresh per row).
2. naive baseline: an ``email.message.EmailMessage`` built and serialised per subscriber, one SMTP
   connection per message (measured on a sample: it is slow).
3. transport limit: the same pre-rendered bytes pushed by plain ``smtplib.sendmail`` on reused
   connections, no database.
4. (for reference) ``SmtpChannel`` alone: pre-rendered bytes through distro's pipelined fast path.

Row 1 runs again on PostgreSQL (a throwaway schema, worker processes sharing one queue through SKIP
LOCKED claims) when it answers at ``DISTRO_BENCH_POSTGRES_URL``.

Then a memory table: peak RSS of queueing (``queue_edition``) and of dispatching for two list sizes, to
show that memory does not grow with the number of subscribers (rows are streamed in keyset pages); and a
depth table: the rate of dispatching the first 10,000 of deeper and deeper queues, on SQLite and
PostgreSQL, with its ratio to the shallowest, and queue_edition's time for each list.

    python bench/send_throughput.py [--messages 20000] [--connections 1,4] [--memory-sizes 10000,100000]
        [--depths 10000,100000,1000000] [--depth-databases sqlite,postgresql] [--no-postgres]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import smtplib
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _databases import database_url, postgres_problem, postgres_schema  # noqa: E402
from _first_message import first_message_table  # noqa: E402
from _queue_tables import Jobs, depth_table, memory_table  # noqa: E402
from _runner import Ready, Row, in_child, measure, peak_rss_mb  # noqa: E402
from _smtp_sink import HOST, SmtpSink  # noqa: E402

from distro.app import App, build_app  # noqa: E402
from distro.channels.base import EmailOut, Receipt  # noqa: E402
from distro.channels.smtp import SmtpChannel  # noqa: E402
from distro.compose.message import PreparedMessage  # noqa: E402
from distro.db import make_engine, upgrade  # noqa: E402
from distro.models import Delivery, Digest, Subscriber, SubscriberStatus, utcnow  # noqa: E402
from distro.services.delivery import dispatch  # noqa: E402
from distro.services.digest_compose import open_edition  # noqa: E402
from distro.services.digest_send import queue_edition  # noqa: E402
from distro.services.ingest import ingest  # noqa: E402
from distro.services.personal import personal_for  # noqa: E402
from distro.settings import (  # noqa: E402
    EmailSettings,
    FacebookSettings,
    Settings,
    SmtpSettings,
    SourceSettings,
    XSettings,
)

ROOT = Path(__file__).resolve().parent.parent
SENDER = "digest@meridian-review.example"
DIGEST = Digest.__table__  # type: ignore[attr-defined]
RING = 64  # distinct pre-rendered messages the no-database rows cycle through


def make_settings(work: Path, port: int) -> Settings:
    """The bench's settings; other DISTRO_* variables (DISTRO_DISPATCH__BATCH_SIZE=50) still apply."""
    return Settings(
        database_url=database_url(work),
        var_dir=work / "var",
        templates_dir=ROOT / "templates",
        sources=[
            SourceSettings(name="meridian-review", url=str(ROOT / "examples" / "feed.xml"), backfill=12)
        ],
        # smtp-sink on loopback: no DKIM key, an http public_url (refused for real readers)
        email=EmailSettings(mode="smtp", from_address=SENDER, unsafe_test_relay=True),
        smtp=SmtpSettings(host=HOST, port=port or 25, security="none"),
        x=XSettings(enabled=False),
        facebook=FacebookSettings(enabled=False),
    )


def subscriber_email(i: int) -> str:
    return f"reader{i:07d}@example.org"


def subscriber_name(i: int) -> str:
    return f"Reader Número {i}"  # non-ASCII: the header takes the RFC 2047 path, as real names do


# -- work done in child processes (spawned, so each peak RSS is its own) ------------------------------


def prepare_database(work: Path, subscribers: int, queue: bool = True) -> dict[str, Any]:
    """Ingest the example feed, add subscribers, compose the digest and queue one row per subscriber."""
    app = build_app(make_settings(work, 0))
    upgrade(app.engine)
    ingest(app)
    table = Subscriber.__table__  # type: ignore[attr-defined]
    now = utcnow()
    for start in range(0, subscribers, 5000):  # bench data, inserted in chunks (never all in memory)
        rows = [
            {"email": subscriber_email(i), "name": subscriber_name(i), "status": SubscriberStatus.ACTIVE}
            | {"created_at": now, "hard_bounces": 0}
            for i in range(start, min(start + 5000, subscribers))
        ]
        with app.engine.begin() as connection:
            connection.execute(sa.insert(table), rows)
    if not queue:  # the first-message table sends the edition itself
        return {"queued": 0, "rss_mb": peak_rss_mb(), "queue_s": 0.0}
    result = open_edition(app, app.settings.digest)
    assert result.digest is not None, result.reason
    began = time.monotonic()
    queued = queue_edition(app, app.settings.digest, result.digest).queued
    seconds = time.monotonic() - began
    app.engine.dispose()
    return {"queued": queued, "rss_mb": peak_rss_mb(), "queue_s": seconds}


def _sample(app: App) -> tuple[PreparedMessage, str]:
    with app.engine.connect() as connection:
        slug, template = connection.execute(sa.select(DIGEST.c.slug, DIGEST.c.message_template)).one()
    return PreparedMessage.from_template(template), slug


def _prerendered(work: Path, port: int, first: int) -> list[EmailOut]:
    app = build_app(make_settings(work, port))
    prepared, slug = _sample(app)
    out = []
    for i in range(first, first + RING):
        personal = personal_for(
            app,
            digest_slug=slug,
            subscriber_id=i + 1,
            email=subscriber_email(i),
            name=subscriber_name(i),
            delivery_id=i + 1,
        )
        out.append(EmailOut(f"k{i}", SENDER, subscriber_email(i), prepared.render(personal)))
    app.engine.dispose()
    return out


class _StopAfter:
    """The real SmtpChannel, asking dispatch to stop after ``limit`` sends (memory rows on long lists)."""

    def __init__(self, channel: SmtpChannel, limit: int, stop: threading.Event) -> None:
        self.name, self._channel, self._left, self._stop = channel.name, channel, limit, stop

    def send(self, message: EmailOut) -> Receipt:
        receipt = self._channel.send(message)
        self._left -= 1
        if self._left <= 0:
            self._stop.set()
        return receipt

    def close(self) -> None:
        self._channel.close()


def run_distro(work: Path, port: int, count: int, index: int, ready: Ready) -> int:
    """Row 1: the real dispatch use case; processes share the outbox, claims never overlap.
    ``count`` 0 sends everything due; otherwise dispatch stops after ``count`` messages."""
    settings = make_settings(work, port)
    stop = threading.Event()
    factory = (lambda name: _StopAfter(SmtpChannel(settings.smtp), count, stop)) if count else None
    app = build_app(settings, channels=factory)
    app.worker_id = f"bench-{index}"
    ready()
    reports = dispatch(app, ["email"], stop=stop)
    app.engine.dispose()
    return reports["email"].sent


def run_smtplib(work: Path, port: int, count: int, index: int, ready: Ready) -> int:
    ring = _prerendered(work, port, index * RING)
    ready()
    conn = smtplib.SMTP(HOST, port)
    for i in range(count):
        message = ring[i % RING]
        conn.sendmail(SENDER, [message.recipient], message.data)
    conn.quit()
    return count


def run_channel(work: Path, port: int, count: int, index: int, ready: Ready) -> int:
    ring = _prerendered(work, port, index * RING)
    channel = SmtpChannel(make_settings(work, port).smtp)
    ready()
    for i in range(count):
        channel.send(ring[i % RING])
    channel.close()
    return count


_SLOT = re.compile(r"%%DISTRO:(?:html|text)\.([a-z_]+)(?:\.[A-Za-z0-9_-]+)?%%")


def _fill(body: str, values: dict[str, str]) -> str:
    return _SLOT.sub(lambda m: values.get(m.group(1), ""), body)  # slots added later render empty


def run_naive(work: Path, port: int, count: int, index: int, ready: Ready) -> int:
    """Row 2, the textbook way: an EmailMessage per subscriber, a new connection per message."""
    app = build_app(make_settings(work, port))
    with app.engine.connect() as connection:
        slug, subject, html, text = connection.execute(
            sa.select(DIGEST.c.slug, DIGEST.c.subject, DIGEST.c.html, DIGEST.c.text)
        ).one()
    ready()
    for n in range(count):
        i = index * count + n
        personal = personal_for(
            app,
            digest_slug=slug,
            subscriber_id=i + 1,
            email=subscriber_email(i),
            name=subscriber_name(i),
            delivery_id=i + 1,
        )
        values = {
            "email": personal.email,
            "greeting_name": personal.name or "reader",
            "unsubscribe_url": personal.unsubscribe_url,
            "unsubscribe_mailto": personal.unsubscribe_mailto or "",
        }
        msg = EmailMessage()
        msg["From"] = f"The Meridian Review <{SENDER}>"
        msg["To"] = f"{personal.name} <{personal.email}>"
        msg["Subject"] = subject
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = personal.message_id
        msg["List-Unsubscribe"] = f"<{personal.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(_fill(text, values))
        msg.add_alternative(_fill(html, values), subtype="html")
        with smtplib.SMTP(HOST, port) as conn:
            conn.send_message(msg)
    app.engine.dispose()
    return count


def sent_rows(work: Path) -> int:
    engine = make_engine(database_url(work))
    with engine.connect() as connection:
        sent = connection.execute(
            sa.select(sa.func.count()).select_from(Delivery).where(Delivery.status == "sent")  # type: ignore[arg-type]
        ).scalar_one()
    engine.dispose()
    return int(sent)


@contextmanager
def fresh_database(template: Path) -> Iterator[Path]:
    """A copy of the prepared database (all rows queued), so every row 1 run starts from the same state."""
    with tempfile.TemporaryDirectory(prefix="distro-bench-") as tmp:
        work = Path(tmp)
        shutil.copytree(template, work, dirs_exist_ok=True)
        yield work


def print_table(rows: list[Row], digest_kb: float) -> None:
    batch = make_settings(Path("."), 0).dispatch.batch_size
    print(f"\nSend throughput: {digest_kb:.0f} KB personalised digest into smtp-sink on loopback")
    print(f"(dispatch.batch_size {batch}; spawned processes, one SMTP connection each)\n")
    head = f"{'row':<40} {'conn':>4} {'msgs':>6} {'msg/s':>6} {'CPU s':>6} {'CPU/msg':>8} {'peak RSS':>8}"
    print(head + f" {'sink CPU':>8} {'vs naive':>8} {'vs smtplib':>10}")
    print("-" * (len(head) + 29))
    for row in rows:
        naive = next((r for r in rows if r.name.startswith("2.") and r.connections == row.connections), None)
        limit = next((r for r in rows if r.name.startswith("3.") and r.connections == row.connections), None)
        vs_naive = f"{row.rate / naive.rate:.1f}x" if naive and naive.rate else "-"
        vs_limit = f"{row.rate / limit.rate:.2f}" if limit and limit.rate else "-"
        per_msg = f"{row.cpu / row.sent * 1e6:.0f} us" if row.sent else "-"
        print(
            f"{row.name:<40} {row.connections:>4} {row.sent:>6} {row.rate:>6.0f} {row.cpu:>6.1f} "
            f"{per_msg:>8} {row.rss_mb:>5.0f} MB {row.sink_cpu:>7.1f}s {vs_naive:>8} {vs_limit:>10}"
        )
    print("CPU is the sending processes' user+system time (SQLite runs in them; PostgreSQL's own server CPU")
    print(
        "is not counted); wall-clock rates on a shared machine move with its load, CPU per message much less."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000, help="messages per row (default 20000)")
    parser.add_argument("--naive-messages", type=int, default=2_000, help="sample for the slow row 2")
    parser.add_argument("--connections", default="1,4", help="connection counts to measure (default 1,4)")
    parser.add_argument("--memory-sizes", default="10000,100000", help="list sizes for the memory table")
    parser.add_argument(
        "--memory-send",
        type=int,
        default=10_000,
        help="messages dispatched from each list in the memory table",
    )
    parser.add_argument("--depths", default="10000,100000", help="queue depths for the depth table")
    parser.add_argument("--depth-databases", default="sqlite,postgresql", help="databases of that table")
    parser.add_argument("--first-size", type=int, default=100_000, help="list of the first-message table")
    parser.add_argument("--no-postgres", action="store_true", help="skip every PostgreSQL row")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.connections.split(",") if c]
    sizes = [int(c) for c in args.memory_sizes.split(",") if c]
    depths = [int(c) for c in args.depths.split(",") if c]
    databases = [d for d in args.depth_databases.split(",") if d]
    problem = "--no-postgres" if args.no_postgres else postgres_problem()
    if problem:
        print(f"PostgreSQL rows skipped: {problem}")
        databases = [d for d in databases if d != "postgresql"]
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="distro-bench-") as tmp, SmtpSink() as sink:
        template = Path(tmp) / "template"
        template.mkdir()
        prepared = in_child(prepare_database, template, args.messages)
        with fresh_database(template) as work:
            digest_kb = len(_prerendered(work, sink.port, 0)[0].data) / 1024
        for connections in counts:
            with fresh_database(template) as work:
                row = measure("1. distro end to end (SQLite)", run_distro, work, sink, 0, connections)
                row.sent = sent_rows(work)
                rows.append(row)
            if not problem:
                rows.append(postgres_row(args.messages, sink, connections))
            with fresh_database(template) as work:
                rows.append(
                    measure(
                        "2. naive: EmailMessage, conn per msg",
                        run_naive,
                        work,
                        sink,
                        args.naive_messages,
                        connections,
                    )
                )
                rows.append(
                    measure(
                        "3. transport: smtplib, pre-rendered",
                        run_smtplib,
                        work,
                        sink,
                        args.messages,
                        connections,
                    )
                )
                rows.append(
                    measure(
                        "4. SmtpChannel alone, pre-rendered",
                        run_channel,
                        work,
                        sink,
                        args.messages,
                        connections,
                    )
                )
            print(f"  measured {connections} connection(s)", flush=True)
        print_table(rows, digest_kb)
        print(
            f"  (queued {prepared['queued']} rows before the runs; row 2 is a sample of "
            f"{args.naive_messages} messages)"
        )
        jobs = Jobs(prepare_database, run_distro, sent_rows)
        memory_table(sizes, sink, args.memory_send, jobs)
        if depths:
            depth_table(depths, databases, sink, args.memory_send, jobs)
        if args.first_size:
            first_message_table(args.first_size, databases, sink, prepare_database)
    return 0


def postgres_row(messages: int, sink: SmtpSink, connections: int) -> Row:
    """Row 1 on PostgreSQL: ``connections`` worker processes share one queue (SKIP LOCKED claims)."""
    with tempfile.TemporaryDirectory(prefix="distro-bench-") as tmp, postgres_schema(Path(tmp)) as work:
        in_child(prepare_database, work, messages)
        row = measure("1. distro end to end (PostgreSQL)", run_distro, work, sink, 0, connections)
        row.sent = sent_rows(work)
    return row


if __name__ == "__main__":
    raise SystemExit(main())
