"""The scheduler's jobs: fixed ids, explicit timezones, per-job misfire grace, DST-correct digest times."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger

from distro.app import App
from distro.errors import ConfigError
from distro.scheduler import build_scheduler, digest_trigger
from tests.conftest import ROOT


def test_jobs_have_fixed_ids_and_real_grace_times(app: App) -> None:
    scheduler = build_scheduler(app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"poll", "digest", "dispatch"}
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
    process = subprocess.Popen(
        [sys.executable, "-m", "distro.cli", "-v", "run"],
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
