"""The ``distro`` command as a user runs it: a real subprocess in a scratch directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distro.cli import cli
from tests.conftest import ROOT

DISTRO = [sys.executable, "-m", "distro.cli"]


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """CLI tests run on SQLite; the main job also runs on PostgreSQL (test_main_job_on_postgresql)."""
    return f"sqlite:///{tmp_path / 'distro.db'}"


@pytest.fixture
def workdir(tmp_path: Path, database_url: str) -> Path:
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    shutil.copytree(ROOT / "config", tmp_path / "config")
    (tmp_path / ".db").write_text(database_url)
    return tmp_path


def distro(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRO_")}
    env["DISTRO_DATABASE_URL"] = (workdir / ".db").read_text()
    env["COLUMNS"] = "200"
    result = subprocess.run(
        [*DISTRO, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
    )
    if check and result.returncode != 0:
        raise AssertionError(f"distro {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def outbox_files(workdir: Path) -> list[Path]:
    return sorted((workdir / "var" / "outbox").rglob("*.*")) if (workdir / "var" / "outbox").exists() else []


def test_main_job_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    for name in ("templates", "examples", "config"):
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / ".db").write_text(postgres_url)
    distro(tmp_path, "subscribers", "import", "examples/subscribers.csv")
    assert "email: 5 sent" in distro(tmp_path, "run", "--once").stdout
    assert "email: 0 sent" in distro(tmp_path, "run", "--once").stdout
    assert len(outbox_files(tmp_path)) == 29


def test_main_job_twice_then_listings_as_json(workdir: Path) -> None:
    distro(workdir, "init")
    distro(workdir, "subscribers", "import", "examples/subscribers.csv")
    first = distro(workdir, "run", "--once")
    assert (
        "email: 5 sent" in first.stdout
        and "x: 12 sent" in first.stdout
        and "facebook: 12 sent" in first.stdout
    )
    files = outbox_files(workdir)
    assert len(files) == 29
    second = distro(workdir, "run", "--once")
    assert "0 sent" in second.stdout and " 5 sent" not in second.stdout
    assert outbox_files(workdir) == files

    log = json.loads(distro(workdir, "log", "--format", "json").stdout)
    assert len(log) == 29 and {row["status"] for row in log} == {"sent"}
    articles = json.loads(distro(workdir, "articles", "list", "--format", "json").stdout)
    assert len(articles) == 12 and all(a["url"].startswith("https://") for a in articles)
    subscribers = json.loads(distro(workdir, "subscribers", "list", "--format", "json").stdout)
    assert {s["email"] for s in subscribers} >= {"amira.haddad@example.org"}
    table = distro(workdir, "log").stdout
    assert "delivery log" in table and "sent" in table


def test_preview_writes_the_personalised_html_and_text(workdir: Path) -> None:
    distro(workdir, "ingest")
    distro(workdir, "subscribers", "add", "zoe@example.org", "--name", "Zoë")
    out = distro(workdir, "digest", "preview", "--subscriber", "zoe@example.org").stdout.split()
    html, text = Path(out[0]), Path(out[1])
    assert "Zoë" in html.read_text() and "Zoë" in text.read_text()
    assert "%%" not in html.read_text()
    assert outbox_files(workdir) == []


def test_a_broken_template_stops_with_file_and_line_and_sends_nothing(workdir: Path) -> None:
    template = workdir / "templates" / "email" / "digest.mjml.j2"
    lines = template.read_text().splitlines()
    lines.insert(5, "{{ article.title | nosuchfilter }}")
    template.write_text("\n".join(lines) + "\n")
    distro(workdir, "subscribers", "import", "examples/subscribers.csv")
    result = distro(workdir, "run", "--once", check=False)
    assert result.returncode == 1
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in result.stderr
    assert "email/digest.mjml.j2:6" in message and "nosuchfilter" in message
    assert outbox_files(workdir) == []
    assert json.loads(distro(workdir, "log", "--format", "json").stdout) == []


def test_an_unreadable_feed_stops_with_a_clear_error_and_sends_nothing(workdir: Path) -> None:
    (workdir / "examples" / "feed.xml").write_text(
        '<?xml version="1.0"?>\n<rss><channel>\n<item><title>x</titl'
    )
    distro(workdir, "subscribers", "import", "examples/subscribers.csv")
    result = distro(workdir, "run", "--once", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "examples/feed.xml" in errors[0] and "line 3" in errors[0]
    assert outbox_files(workdir) == []


def test_bad_subscriber_lines_are_reported_with_their_line_numbers(workdir: Path) -> None:
    csv = workdir / "people.csv"
    csv.write_text(
        "email,name\nok@example.org,Ok\nnot-an-address,Bad\nalso@bad@example.org,\nok@example.org,Dup\n"
    )
    result = distro(workdir, "subscribers", "import", str(csv))
    assert "1 added, 1 already known, 2 rejected" in result.stdout
    assert "people.csv:3" in result.stderr and "people.csv:4" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["ingest"],
        ["run"],
        ["dispatch"],
        ["log"],
        ["digest"],
        ["digest", "preview"],
        ["digest", "send"],
        ["social", "send"],
        ["articles", "list"],
        ["subscribers", "add"],
        ["subscribers", "import"],
        ["subscribers", "list"],
        ["templates", "list"],
        ["templates", "copy"],
    ],
)
def test_every_command_explains_itself(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    assert len(result.output.split("Usage:")[1].strip().splitlines()) > 2


def test_status_reports_sources_queues_and_failures(workdir: Path) -> None:
    distro(workdir, "subscribers", "add", "a@example.org")
    distro(workdir, "ingest")
    distro(workdir, "social", "send", "--no-dispatch")
    status = json.loads(distro(workdir, "status", "--format", "json").stdout)
    assert [s["source"] for s in status["sources"]] == ["meridian-review"]
    assert status["sources"][0]["last_poll"] and status["sources"][0]["last_error"] is None
    queues = {c["channel"]: c for c in status["channels"]}
    assert sum(c["pending"] for c in queues.values()) == 24
    assert all(c["failed_attempts_24h"] == 0 for c in queues.values())
    assert "queues" in distro(workdir, "status").stdout


def test_each_invocation_in_one_process_builds_its_own_app(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workdir)
    for name in ("first.db", "second.db"):
        url = f"sqlite:///{tmp_path / name}"
        result = CliRunner().invoke(cli, ["init"], env={"DISTRO_DATABASE_URL": url})
        assert result.exit_code == 0, result.output
        assert name in result.output  # not the previous invocation's database


def test_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"distro {version('distro')}"


def in_folder(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``distro ARGS`` run in ``folder`` with no DISTRO_* variable but ``env``: only what the folder holds
    counts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRO_")} | {"COLUMNS": "200"} | env
    result = subprocess.run(
        [*DISTRO, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"distro {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def test_init_makes_an_empty_folder_a_site_that_works_from_anywhere(tmp_path: Path) -> None:
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    site.mkdir()
    elsewhere.mkdir()
    first = in_folder(site, "init")
    config = site / "config" / "distro.toml"
    assert f"wrote {Path('config') / 'distro.toml'}" in first.stdout
    assert (site / "var" / "distro.db").is_file() and not (site / "templates").exists()
    config.write_text(config.read_text().replace('"Example Weekly"', '"The Site Weekly"', 1))
    assert "wrote" not in in_folder(site, "init").stdout  # never rewritten
    assert '"The Site Weekly"' in config.read_text()

    in_folder(elsewhere, "--config", str(config), "subscribers", "add", "ana@example.org")
    listed = json.loads(in_folder(site, "subscribers", "list", "--format", "json").stdout)
    assert [s["email"] for s in listed] == ["ana@example.org"]
    assert list(elsewhere.iterdir()) == []  # nothing of the site landed in the folder it was run from

    copied = in_folder(site, "templates", "copy", "email/digest.txt.j2").stdout
    assert str(site / "templates" / "email" / "digest.txt.j2") in copied.replace("\n", "")
    overridden = json.loads(in_folder(site, "templates", "list", "--format", "json").stdout)
    assert [t["name"] for t in overridden if t["overridden"]] == ["email/digest.txt.j2"]


def test_init_writes_the_config_named_by_distro_config(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "news.toml"
    in_folder(tmp_path, "init", DISTRO_CONFIG=str(config))
    assert config.is_file() and not (tmp_path / "config").exists()
    assert (tmp_path / "var" / "distro.db").is_file()
