"""The delivery engine under ordinary faults, with real `distro worker` processes on the real PostgreSQL.

- A slow SMTP server (0.3-0.6 s a message) with batches that outlive the lease: the heartbeat keeps the
  rows, so several workers send each message once.
- SIGKILL mid-batch: the duplicates are at most the messages on the wire (one per open connection), plus,
  in the default mode, the outcomes of the one group commit still open.
- A TCP proxy between the worker and PostgreSQL drops every connection for a few seconds mid-batch: no
  duplicates, the worker lives and finishes the queue.
- A throttled recipient domain does not hold up another domain, and one that must wait long goes back
  to the queue instead of blocking the sender.
- Started while the database is away: the worker waits with backoff (log lines, no traceback); a
  one-shot command prints one line and exits 1; a missing PostgreSQL driver is one line too.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import SMTP, Envelope, Session

from distro.app import App
from distro.models import DeliveryAttempt
from distro.services.delivery import dispatch
from distro.services.subscribers import add_subscriber
from tests.conftest import ROOT
from tests.fakes.smtp_server import FakeSmtpServer, _Handler
from tests.fakes.tcp_proxy import TcpProxy
from tests.processes import spawn
from tests.test_worker import (
    add_subscribers,
    make_app,
    queue_small_digest,
    start_worker,
    status_counts,
    stop_worker,
    unfinished,
    wait_for,
    worker_env,
)


class _Slow(_Handler):
    """Answers the end of DATA after a pause drawn from ``[low, high]`` seconds (seeded: repeatable)."""

    def __init__(self, owner: FakeSmtpServer, low: float, high: float) -> None:
        super().__init__(owner)
        self.low, self.high = low, high
        self.random = random.Random(12)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.random.uniform(self.low, self.high))
        return await super().handle_DATA(server, session, envelope)


def slow_server(low: float, high: float) -> FakeSmtpServer:
    server = FakeSmtpServer()
    server._controller.handler = _Slow(server, low, high)  # the Controller builds each protocol from it
    return server


def received(server: FakeSmtpServer) -> Counter[str]:
    return Counter(rcpt for m in server.messages for rcpt in m.rcpt_tos)


def outcomes(app: App) -> Counter[str]:
    with app.engine.connect() as c:
        rows = c.execute(
            sa.select(DeliveryAttempt.outcome, sa.func.count()).group_by(DeliveryAttempt.outcome)
        )
        return Counter(dict(rows.all()))  # type: ignore[arg-type]


def stderr_of(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr.decode()
    return stderr.decode()


@pytest.fixture
def pg_app(postgres_url: str, tmp_path: Path) -> Iterator[App]:
    app = make_app(postgres_url, tmp_path)
    yield app
    app.engine.dispose()


def test_a_slow_server_and_a_short_lease_cause_no_duplicates_with_three_workers(
    pg_app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emails = add_subscribers(pg_app, 150)
    queue_small_digest(pg_app)
    with slow_server(0.3, 0.6) as server:
        # A batch of 50 over 4 connections takes ~5.6 s: almost three leases of 2 s.
        env = worker_env(
            pg_app, server, batch_size=50, lease_seconds=2, workers_per_channel=4, idle_seconds=0.2
        )
        workers = [start_worker(env, tmp_path) for _ in range(3)]
        wait_for(lambda: unfinished(pg_app) == 0, 120, "an empty queue", workers)
        for proc in workers:
            stop_worker(proc)
        got = received(server)
    with capsys.disabled():
        print(f"\nslow server: {sum(got.values())} messages for {len(emails)} readers")
    assert set(got) == set(emails) and max(got.values()) == 1
    assert status_counts(pg_app) == {"sent": 150}
    assert outcomes(pg_app) == {"sent": 150}  # not one lease ran out: no abandoned try


@pytest.mark.parametrize("before_next", [True, False], ids=["record-before-next-send", "group-commit"])
def test_sigkill_duplicates_at_most_the_messages_on_the_wire(
    pg_app: App, tmp_path: Path, before_next: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    emails = add_subscribers(pg_app, 120)
    queue_small_digest(pg_app)
    connections, every = 4, 32
    with slow_server(0.05, 0.15) as server:
        settings = {
            "batch_size": 50,
            "lease_seconds": 2,
            "workers_per_channel": connections,
            "idle_seconds": 0.2,
        }
        env = worker_env(pg_app, server, **settings, record_before_next_send=str(before_next).lower())
        first = start_worker(env, tmp_path)
        wait_for(lambda: len(server.messages) >= 30, 60, "30 messages", [first])
        first.kill()
        first.wait(10)
        opened = server.connections
        second = start_worker(env, tmp_path)
        wait_for(lambda: unfinished(pg_app) == 0, 90, "an empty queue", [second])
        stop_worker(second)
        got = received(server)
    twice = sum(n - 1 for n in got.values())
    with capsys.disabled():
        print(
            f"\nSIGKILL ({'record before next send' if before_next else 'group commit'}): "
            f"{twice} duplicates, "
            f"{connections} connections open at the kill ({opened} opened in all)"
        )
    assert set(got) == set(emails)
    assert status_counts(pg_app) == {"sent": 120}
    assert twice <= (connections if before_next else connections + every - 1)
    assert outcomes(pg_app)["abandoned"] >= twice  # every lost try is in the log


def _through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def test_a_database_blip_mid_batch_costs_no_duplicates_and_the_worker_goes_on(
    pg_app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emails = add_subscribers(pg_app, 200)
    queue_small_digest(pg_app)
    target = urlsplit(pg_app.settings.database_url)
    with (
        TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy,
        slow_server(0.05, 0.1) as server,
    ):
        env = worker_env(
            pg_app, server, batch_size=50, lease_seconds=8, workers_per_channel=2, idle_seconds=0.2
        )
        env["DISTRO_DATABASE_URL"] = _through(proxy, pg_app.settings.database_url)
        worker = start_worker(env, tmp_path)
        wait_for(lambda: len(server.messages) >= 20, 60, "20 messages", [worker])
        proxy.cut(3.0)  # every connection dropped mid-batch; PostgreSQL unreachable for 3 s
        during = len(server.messages)
        wait_for(lambda: not proxy.down, 10, "the end of the blip", [worker])
        wait_for(lambda: unfinished(pg_app) == 0, 90, "an empty queue", [worker])
        assert worker.poll() is None  # alive
        stderr = stderr_of(worker)
        got = received(server)
    with capsys.disabled():
        print(
            f"\ndatabase blip: {proxy.cuts} connections cut, {during} messages sent before it, "
            f"{sum(got.values()) - len(got)} duplicates"
        )
    assert proxy.cuts >= 1
    assert set(got) == set(emails) and max(got.values()) == 1
    assert status_counts(pg_app) == {"sent": 200}
    assert "database unreachable" in stderr and "Traceback" not in stderr


def test_a_throttled_domain_does_not_hold_up_another(app: App) -> None:
    with FakeSmtpServer() as server:
        settings = app.settings
        settings.email.mode, settings.smtp.host, settings.smtp.port = "smtp", server.host, server.port
        settings.email.unsafe_test_relay = True  # aiosmtpd on loopback: no DKIM, http links
        settings.smtp.security = "none"
        settings.dispatch.max_per_second_per_domain = 4.0
        for domain in ("slow.example", "other.example"):
            for i in range(6):
                add_subscriber(app, f"r{i}@{domain}", f"R{i}")
        queue_small_digest(app)
        assert dispatch(app, ["email"])["email"].sent == 12
        order = [m.rcpt_tos[0].rpartition("@")[2] for m in server.messages]
    # One sender, 4 per second per domain: the other domain's mail goes while the first one waits.
    assert order[:4].count("other.example") == 2 and order[:4].count("slow.example") == 2
    assert all(a != b for a, b in zip(order, order[1:], strict=False))  # they alternate throughout


def test_a_domain_that_must_wait_long_goes_back_to_the_queue(app: App) -> None:
    with FakeSmtpServer() as server:
        settings = app.settings
        settings.email.mode, settings.smtp.host, settings.smtp.port = "smtp", server.host, server.port
        settings.email.unsafe_test_relay = True  # aiosmtpd on loopback: no DKIM, http links
        settings.smtp.security = "none"
        settings.dispatch.max_per_second_per_domain = 0.2  # a slot every 5 s
        settings.dispatch.batch_size = 10
        for domain in ("a.example", "b.example"):
            for i in range(3):
                add_subscriber(app, f"r{i}@{domain}", f"R{i}")
        queue_small_digest(app)
        report = dispatch(app, ["email"])["email"]
        sent = len(server.messages)
    assert (report.sent, sent) == (2, 2)  # one per domain now; the rest waits for its slot, not the sender
    with app.engine.connect() as c:
        waiting = c.execute(
            sa.text("SELECT attempts, next_attempt_at FROM delivery WHERE status = 'pending'")
        ).all()
    assert len(waiting) == 4 and all(row.attempts == 0 for row in waiting)  # deferring is nobody's try
    assert outcomes(app) == {"sent": 2}


def _cli(args: list[str], env: dict[str, str], **kwargs: object) -> subprocess.Popen[bytes]:
    return spawn(
        [sys.executable, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,  # type: ignore[call-overload]
    )


def _env(tmp_path: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRO_")}
    env |= {
        "DISTRO_DATABASE_URL": url,
        "DISTRO_VAR_DIR": str(tmp_path / "var"),
        "DISTRO_TEMPLATES_DIR": str(ROOT / "templates"),
        "PYTHONPATH": str(ROOT / "src"),
    }
    return env


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_started_while_the_database_is_away_the_worker_waits_and_one_shot_commands_say_one_line(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path, f"postgresql://distro@127.0.0.1:{_closed_port()}/distro")
    once = _cli(["-m", "distro.cli", "status"], env)
    _, stderr = once.communicate(timeout=60)
    lines = stderr.decode().strip().splitlines()
    assert once.returncode == 1 and len(lines) == 1, stderr.decode()
    assert lines[0].startswith("error: database unreachable:") and "Connection refused" in lines[0]

    worker = _cli(["-m", "distro.cli", "worker"], env)
    seen: list[str] = []
    try:
        assert worker.stderr is not None
        while len([line for line in seen if "database unreachable" in line]) < 2:  # tries at 0 s and 1 s
            line = worker.stderr.readline().decode()
            assert line, f"the worker ended before trying twice: {''.join(seen)}"
            seen.append(line)
        assert worker.poll() is None
    finally:
        worker.send_signal(signal.SIGTERM)
        _, rest = worker.communicate(timeout=30)
    text = "".join(seen) + rest.decode()
    assert worker.returncode == 0, text
    tries = [line for line in text.splitlines() if "database unreachable" in line]
    assert len(tries) >= 2 and "retrying in 1s" in tries[0] and "retrying in 2s" in tries[1]
    assert "Traceback" not in text


def test_a_missing_postgresql_driver_is_one_line(tmp_path: Path) -> None:
    env = _env(tmp_path, "postgresql://distro@127.0.0.1:5432/distro")
    code = (
        "import sys; sys.modules['psycopg'] = None; from distro.cli import main; "
        "sys.argv = ['distro', 'status']; main()"
    )
    proc = _cli(["-c", code], env)
    _, stderr = proc.communicate(timeout=60)
    lines = stderr.decode().strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, stderr.decode()
    assert "driver is not installed" in lines[0] and "pip install 'distro[postgres]'" in lines[0]
