"""Bounces and complaints through the ``distro`` command as an operator wires it: the digest goes out with
VERP Return-Paths (the file sink shows them), then a DSN is piped to ``bounces ingest``, a complaint arrives
over LMTP at ``bounces serve``, a soft bounce waits in a real Dovecot mailbox for ``bounces fetch``; the
suppression list, the subscriber list, the CSV export and the delivery log all tell the same story."""

from __future__ import annotations

import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import processes
from tests.conftest import ROOT, require
from tests.fakes.bounce_mail import arf, dsn
from tests.feedback.dovecot import (
    HOST,
    PASSWORD,
    Dovecot,
    dovecot_binary,
    free_port,
    new_user,
    running_dovecot,
)
from tests.feedback.test_imap import contents, deliver

DISTRO = [sys.executable, "-m", "distro.cli"]
RETURN_PATH = re.compile(
    rb"^Return-Path: <(bounces\+\d+-[0-9a-f]{20}@bounces\.meridian-review\.example)>\r\n"
)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for name in ("templates", "examples", "config"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def env_for(workdir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRO_")}
    env.update(DISTRO_DATABASE_URL=f"sqlite:///{workdir / 'distro.db'}", COLUMNS="200")
    env.update({f"DISTRO_{name.upper()}": value for name, value in settings.items()})
    return env


def distro(
    workdir: Path, *args: str, stdin: bytes | None = None, **settings: str
) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [*DISTRO, *args],
        cwd=workdir,
        env=env_for(workdir, **settings),
        input=stdin,
        capture_output=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"distro {' '.join(args)} exited {result.returncode}:\n{result.stdout!r}\n{result.stderr!r}"
        )
    return result


def as_json(result: subprocess.CompletedProcess[bytes]) -> Any:
    return json.loads(result.stdout)


@pytest.fixture
def sent(workdir: Path) -> dict[str, bytes]:
    """The example list imported and this week's digest written by the file sink, by recipient."""
    distro(workdir, "subscribers", "import", "examples/subscribers.csv")
    assert "email: 5 sent" in distro(workdir, "run", "--once").stdout.decode()
    by_reader = {}
    for eml in (workdir / "var" / "outbox" / "email").glob("*.eml"):
        data = eml.read_bytes()
        to = re.search(rb"^To: .*?<?([^<>\s]+@[^<>\s]+)>?\r$", data, re.MULTILINE)
        assert to is not None
        by_reader[to.group(1).decode().lower()] = data
    return by_reader


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    if dovecot_binary() is None:
        require("dovecot", "install Debian's dovecot-imapd (see .ci/run)")
    with running_dovecot(tmp_path_factory.mktemp("dovecot")) as server:
        yield server


def envelope_sender(message: bytes) -> str:
    found = RETURN_PATH.match(message)
    assert found, message[:200]
    return found.group(1).decode()


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else b""
        try:
            smtplib.LMTP(HOST, port, timeout=1).quit()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("bounces serve did not listen")


def test_every_way_in_through_the_command_line(
    workdir: Path, sent: dict[str, bytes], dovecot: Dovecot
) -> None:
    hard, complained, soft = "amira.haddad@example.org", "j.okonkwo@example.com", sorted(sent)[-1]
    assert len({hard, complained, soft}) == 3

    # 1. A DSN piped in, as Postfix's pipe transport or procmail would.
    found = as_json(
        distro(workdir, "bounces", "ingest", "--format", "json", stdin=dsn(envelope_sender(sent[hard]), hard))
    )
    assert (found["kind"], found["recipient"], found["status"], found["action"]) == (
        "hard",
        hard,
        "5.1.1",
        "suppressed",
    )
    assert isinstance(found["delivery_id"], int)
    again = as_json(
        distro(workdir, "bounces", "ingest", "--format", "json", stdin=dsn(envelope_sender(sent[hard]), hard))
    )
    assert again["action"] == "already recorded"

    # 2. A complaint handed over LMTP to the listener, as an MTA does for the bounce domain.
    port = free_port()
    serve = processes.spawn(
        [*DISTRO, "bounces", "serve"],
        cwd=workdir,
        env=env_for(workdir, bounces__listen_port=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, serve)
        with smtplib.LMTP(HOST, port, timeout=10) as lmtp:
            refused = lmtp.sendmail(
                "", [envelope_sender(sent[complained])], arf(sent[complained], complained)
            )
        assert refused == {}
    finally:
        serve.terminate()
        assert serve.wait(timeout=20) == 0

    # 3. A soft bounce waiting in the bounce mailbox, fetched over IMAP (TLS, password from the environment).
    user = new_user()
    deliver(dovecot, user, dsn(envelope_sender(sent[soft]), soft, status="4.2.2", message_id="SOFT1"))
    imap = {
        "bounces__imap_host": HOST,
        "bounces__imap_port": str(dovecot.ssl_port),
        "bounces__imap_username": user,
        "bounces__imap_password": PASSWORD,
        "bounces__imap_ca_file": str(dovecot.ca_file),
    }
    assert "1 handled, 0 failed, 0 left" in distro(workdir, "bounces", "fetch", **imap).stdout.decode()
    assert contents(dovecot, user, "INBOX") == [] and len(contents(dovecot, user, "distro-processed")) == 1

    # What every view says now.
    suppressed = {s["email"]: s for s in as_json(distro(workdir, "suppressions", "list", "--format", "json"))}
    assert {e: s["reason"] for e, s in suppressed.items()} == {hard: "hard_bounce", complained: "complaint"}
    assert all(s["since"] for s in suppressed.values())
    readers = {
        s["email"].lower(): s["status"]
        for s in as_json(distro(workdir, "subscribers", "list", "--format", "json"))
    }
    assert (readers[hard], readers[complained], readers[soft]) == ("bounced", "suppressed", "active")
    exported = distro(workdir, "subscribers", "export-csv").stdout.decode().lower()
    assert f"{hard}," in exported and ",bounced" in exported
    events = as_json(distro(workdir, "bounces", "list", "--format", "json"))
    assert [(e["email"], e["kind"], e["source"]) for e in events] == [
        (soft, "soft", "dsn"),
        (complained, "complaint", "arf"),
        (hard, "hard", "dsn"),
    ]
    assert events[0]["action"].startswith("counted (1 of 3")
    log = {e["recipient"]: e["bounce"] for e in as_json(distro(workdir, "log", "--format", "json"))}
    assert log[hard] == "hard 5.1.1 (dsn): suppressed"
    assert log[complained] == "complaint (arf): unsubscribed and suppressed"


def test_ingest_exit_codes_for_an_mta(workdir: Path) -> None:
    distro(workdir, "init")
    autoreply = (ROOT / "tests" / "samples" / "bounces" / "autoreply_vacation.eml").read_bytes()
    assert (
        "unrecognised (dsn) for nobody named: none"
        in distro(workdir, "bounces", "ingest", stdin=autoreply).stdout.decode()
    )
    too_big = subprocess.run(
        [*DISTRO, "bounces", "ingest"],
        cwd=workdir,
        env=env_for(workdir, bounces__max_message_bytes="10000"),
        input=b"x" * 20_000,
        capture_output=True,
        timeout=60,
    )
    assert too_big.returncode == 65 and b"max_message_bytes" in too_big.stderr
    down = subprocess.run(
        [*DISTRO, "bounces", "ingest"],
        cwd=workdir,
        env=env_for(workdir, database_url="postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1"),
        input=dsn("bounces+1-0123456789abcdef0123@bounces.meridian-review.example", "a@example.org"),
        capture_output=True,
        timeout=60,
    )
    assert down.returncode == 75, down.stderr


SAMPLE_KINDS = {
    "postfix_hard_511": ("hard", "5.1.1"),
    "dsn_soft_422_mailbox_full": ("soft", "4.2.2"),
    "dsn_soft_522_over_quota": ("soft", "5.2.2"),
    "dsn_greylisted_gave_up": ("soft", "4.2.0"),
    "dsn_delayed": ("unrecognised", "4.4.1"),
    "dsn_two_recipients": ("hard", "5.1.1"),
    "dsn_unparseable_recipient": ("hard", "5.1.1"),
    "exim_permanent": ("hard", "5.1.1"),
    "qmail_permanent": ("hard", "5.1.1"),
    "yahoo_permanent": ("hard", None),
    "gmail_address_not_found": ("hard", "5.1.1"),
    "exchange_ndr": ("hard", "5.1.1"),
    "arf_abuse_with_original": ("complaint", None),
    "arf_abuse_headers_only": ("complaint", None),
    "arf_not_spam": ("unrecognised", None),
    "autoreply_vacation": ("unrecognised", None),
    "autoreply_exchange_ooo": ("unrecognised", None),
    "human_reply": ("unrecognised", None),
    "garbage": ("unrecognised", None),
    "empty": ("unrecognised", None),
}


def test_every_sample_kind_through_bounces_ingest(tmp_path: Path) -> None:
    """Each captured shape, read by the command an MTA pipes into. The samples' VERP tokens name delivery 42
    under another key, so each recognised one is also refused as forged: nothing is suppressed."""
    from typer.testing import CliRunner

    from distro.cli import cli

    samples = sorted((ROOT / "tests" / "samples" / "bounces").glob("*.eml"))
    assert {p.stem for p in samples} == set(SAMPLE_KINDS)
    env = {
        "DISTRO_DATABASE_URL": f"sqlite:///{tmp_path / 'distro.db'}",
        "DISTRO_VAR_DIR": str(tmp_path / "var"),
        "DISTRO_TEMPLATES_DIR": str(ROOT / "templates"),
        "DISTRO_EMAIL__BOUNCE_ADDRESS": "bounces+{token}@bounces.meridian-review.example",
    }
    runner = CliRunner()
    for sample in samples:
        result = runner.invoke(cli, ["bounces", "ingest", "--format", "json", str(sample)], env=env)
        assert result.exit_code == 0, (sample.name, result.output)
        found = json.loads(result.stdout)
        assert (found["kind"], found["status"]) == SAMPLE_KINDS[sample.stem], sample.name
        expected = "none" if found["kind"] == "unrecognised" else "ignored: forged or unknown bounce token"
        assert found["action"] == expected, sample.name
    listed = runner.invoke(cli, ["suppressions", "list", "--format", "json"], env=env)
    assert json.loads(listed.stdout) == []
