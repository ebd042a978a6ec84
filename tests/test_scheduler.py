"""The scheduler's jobs: fixed ids, explicit timezones, per-job misfire grace, DST-correct digest times."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.triggers.cron import CronTrigger

from distro.app import App, build_app
from distro.db import make_engine
from distro.errors import ConfigError, DistroError
from distro.scheduler import build_scheduler, digest_trigger, ensure_jobs
from distro.settings import Settings
from tests.conftest import ROOT
from tests.processes import spawn


def test_jobs_have_fixed_ids_and_real_grace_times(app: App) -> None:
    scheduler = build_scheduler(app, persistent=False)
    scheduler.start(paused=True)
    ensure_jobs(scheduler, app)
    ensure_jobs(scheduler, app)  # a restart adds nothing
    jobs = {job.id: job for job in scheduler.get_jobs()}
    scheduler.shutdown()
    assert set(jobs) == {"poll", "digest", "dispatch", "leadership", "websub", "scheduled"}
    assert all(job.misfire_grace_time and job.misfire_grace_time > 1 for job in jobs.values())
    assert all(job.coalesce for job in jobs.values())
    trigger = jobs["digest"].trigger
    assert isinstance(trigger, CronTrigger)
    assert str(trigger.timezone) == "Europe/London"


@pytest.mark.parametrize(
    ("now", "expected_utc"),
    [
        # Winter (GMT): Monday 07:00 London is 07:00 UTC.
        (datetime(2026, 11, 25, 12, 0, tzinfo=UTC), datetime(2026, 11, 30, 7, 0, tzinfo=UTC)),
        # The week the clocks go forward (29 March 2026): Monday 30 March 07:00 BST is 06:00 UTC.
        (datetime(2026, 3, 26, 12, 0, tzinfo=UTC), datetime(2026, 3, 30, 6, 0, tzinfo=UTC)),
        # The week the clocks go back (25 October 2026): Monday 26 October 07:00 GMT is 07:00 UTC.
        (datetime(2026, 10, 22, 12, 0, tzinfo=UTC), datetime(2026, 10, 26, 7, 0, tzinfo=UTC)),
    ],
)
def test_weekly_digest_fires_at_local_time_across_dst(
    app: App, now: datetime, expected_utc: datetime
) -> None:
    fire = digest_trigger(app).get_next_fire_time(None, now)
    assert fire is not None and fire.astimezone(UTC) == expected_utc


def test_a_bad_digest_time_is_a_config_error(app: App) -> None:
    app.settings.digest.time = "seven"
    with pytest.raises(ConfigError, match="digest"):
        digest_trigger(app)


def test_run_dispatches_on_schedule_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    for name in ("templates", "examples", "config"):
        shutil.copytree(ROOT / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRO_")}
    env |= {"DISTRO_SCHEDULER__DISPATCH_SECONDS": "1", "DISTRO_SCHEDULER__POLL_MINUTES": "1"}
    subprocess.run(
        [sys.executable, "-m", "distro.cli", "ingest"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    subprocess.run(
        [sys.executable, "-m", "distro.cli", "social", "send", "--no-dispatch"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    process = spawn(
        [sys.executable, "-m", "distro.cli", "-v", "run", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    posts = tmp_path / "var" / "outbox" / "social" / "x"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(list(posts.glob("*.json"))) < 12:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert len(list(posts.glob("*.json"))) == 12, output
    assert process.returncode == 0, output
    assert "stopping" in output and "Traceback" not in output


class Scheduler:
    """A `distro -v run` process whose log lines are collected by a thread."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = spawn(
            [sys.executable, "-m", "distro.cli", "-v", "run", "--port", "0"],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def saw(self, text: str, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return True
            if self.process.poll() is not None and not self._reader.is_alive():
                return any(text in line for line in self.lines)
            time.sleep(0.1)
        return False

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=60)  # once over 30 s on a loaded machine (cause not found)
        except subprocess.TimeoutExpired:  # say what it was doing, and leave no process behind
            self.process.kill()
            self.process.wait(timeout=10)
            self._reader.join(timeout=5)
            raise AssertionError(f"still running 60 s after SIGTERM; its output:\n{self.output}") from None
        self._reader.join(timeout=5)
        return code

    @property
    def output(self) -> str:
        return "".join(self.lines)


def digest_far_from_now() -> dict[str, str]:
    """The weekly digest's day and time set half a week away (London), so its cron never fires by itself
    while a test counts the runs it caused: at Monday 07:00 the configured time would add one."""
    later = datetime.now(UTC).astimezone(ZoneInfo("Europe/London")) + timedelta(days=3, hours=12)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[later.weekday()]  # not %a: that is the locale's
    return {"DISTRO_DIGEST__DAY_OF_WEEK": day, "DISTRO_DIGEST__TIME": f"{later:%H:%M}"}


def scheduler_env(workdir: Path, database_url: str) -> dict[str, str]:
    for name in ("templates", "examples", "config"):
        if not (workdir / name).exists():
            shutil.copytree(ROOT / name, workdir / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRO_")}
    return (
        env
        | digest_far_from_now()
        | {
            "DISTRO_DATABASE_URL": database_url,
            "DISTRO_SCHEDULER__STANDBY_POLL_SECONDS": "0.3",
            "DISTRO_SCHEDULER__POLL_MINUTES": "600",
            "DISTRO_SCHEDULER__DISPATCH_SECONDS": "600",
        }
    )


def test_one_scheduler_leads_and_a_standby_takes_over_when_it_dies(tmp_path: Path, database_url: str) -> None:
    env = scheduler_env(tmp_path, database_url)
    first = Scheduler(tmp_path, env)
    assert first.saw("leader for this database"), first.output
    second = Scheduler(tmp_path, env)
    try:
        assert second.saw("waiting as standby"), second.output
        assert not second.saw("leader for this database", timeout=2)
        first.process.kill()  # SIGKILL: no clean release, the lock must go with the process
        first.process.wait(timeout=10)
        assert second.saw("leader for this database", timeout=30), second.output
    finally:
        first.stop()
        assert second.stop() == 0, second.output


def _set_digest_due(workdir: Path, database_url: str, seconds_ago: float) -> None:
    """Move the stored digest job's next run into the past, as if the service had been down then."""
    settings = Settings(database_url=database_url, var_dir=workdir / "var", templates_dir=ROOT / "templates")
    application = build_app(settings)
    store = SQLAlchemyJobStore(engine=application.engine)
    store.start(build_scheduler(application, persistent=False), "default")  # a store, no running scheduler
    job = store.lookup_job("digest")
    assert job is not None
    job._modify(next_run_time=datetime.now(UTC) - timedelta(seconds=seconds_ago))
    store.update_job(job)
    application.engine.dispose()


@pytest.mark.parametrize(
    ("late", "expected"), [(120, "digest job:"), (8 * 3600, "missed by more than its grace")]
)
def test_a_digest_missed_while_down_goes_once_within_grace_and_is_reported_after(
    tmp_path: Path, late: float, expected: str
) -> None:
    database_url = f"sqlite:///{tmp_path / 'distro.db'}"  # the job store behaves alike on PostgreSQL
    env = scheduler_env(tmp_path, database_url)
    first = Scheduler(tmp_path, env)
    assert first.saw("job digest"), first.output
    assert first.stop() == 0
    _set_digest_due(tmp_path, database_url, late)  # the service was down when the digest fell due
    again = Scheduler(tmp_path, env)
    try:
        assert again.saw(expected), again.output
    finally:
        assert again.stop() == 0, again.output
    ran = again.output.count("digest job:")
    assert ran == (1 if late < 3600 else 0), again.output


def test_two_schedulers_on_postgresql_enqueue_the_digest_exactly_once(
    tmp_path: Path, postgres_url: str
) -> None:
    env = scheduler_env(tmp_path, postgres_url)
    for args in (["subscribers", "import", "examples/subscribers.csv"], ["ingest"]):
        subprocess.run(
            [sys.executable, "-m", "distro.cli", *args],
            cwd=tmp_path,
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
    first = Scheduler(tmp_path, env)
    assert first.saw("job digest"), first.output
    assert first.stop() == 0
    _set_digest_due(tmp_path, postgres_url, 60)
    both = [Scheduler(tmp_path, env), Scheduler(tmp_path, env)]
    try:
        assert any(s.saw("digest job:", timeout=30) for s in both), both[0].output + both[1].output
        time.sleep(2)
        # Checked before stopping: when the leader stops, the standby rightly takes over.
        assert sum("leader for this database" in s.output for s in both) == 1
    finally:
        codes = [s.stop() for s in both]
    assert codes == [0, 0]
    assert sum(s.output.count("digest job:") for s in both) == 1
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT count(*) FROM delivery WHERE channel = 'email'")
        ).scalar_one()
    engine.dispose()
    assert rows == 5


def test_run_all_serves_the_web_app_beside_the_scheduler(tmp_path: Path) -> None:
    env = scheduler_env(tmp_path, f"sqlite:///{tmp_path / 'distro.db'}")
    port = _free_port()
    process = spawn(
        [sys.executable, "-m", "distro.cli", "-v", "run", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        answer = None
        while time.monotonic() < deadline and answer is None:
            try:
                answer = urllib.request.urlopen(f"http://127.0.0.1:{port}/hooks/articles", timeout=2)
            except urllib.error.HTTPError as exc:
                answer = exc  # the route exists and refuses a GET: the app is up
            except OSError:
                time.sleep(0.2)
        assert answer is not None and answer.status in (405, 200)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_poll_job_removes_sign_ups_nobody_confirmed_in_time(app: App) -> None:
    from distro import scheduler
    from distro.models import Signup
    from distro.services.signup import request_signup

    request_signup(app, "late@example.org", None, None)
    request_signup(app, "fresh@example.org", None, None)
    with app.engine.begin() as connection:
        connection.execute(
            sa.update(Signup)
            .where(Signup.email == "late@example.org")
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    build_scheduler(app, persistent=False)  # the jobs read this App
    scheduler.poll_job()
    with app.engine.connect() as connection:
        left = connection.execute(sa.select(Signup.email)).scalars().all()
    assert left == ["fresh@example.org"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_each_run_has_its_own_runtime_and_clears_it_when_it_stops(app: App) -> None:
    """A second run in the same process starts afresh: the first run's stop and leadership are gone."""
    from distro import scheduler

    for _ in range(2):
        stop = threading.Event()
        thread = threading.Thread(target=partial(scheduler.run_scheduler, app, stop, dispatch=False))
        thread.start()
        deadline = time.monotonic() + 20
        while getattr(scheduler._RUNTIME, "stop", None) is not stop and time.monotonic() < deadline:
            time.sleep(0.05)  # the scheduler is up once its runtime is the current one
        runtime = scheduler.current()
        assert runtime.app is app and runtime.stop is stop and runtime.leadership is not None
        stop.set()
        thread.join(timeout=20)
        assert not thread.is_alive()
        with pytest.raises(DistroError, match="no scheduler runs"):
            scheduler.current()
