"""``distro api-tokens`` (SQLite): the token is printed once and works at once, ``list`` never shows it,
``revoke`` ends it, and mistakes get one sentence. The first command runs as a user runs it (a
subprocess), the others in-process through Typer's runner: the same code at a tenth of the time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from distro.app import build_app
from distro.cli import cli
from distro.errors import DistroError
from distro.settings import Settings
from distro.web.app import create_web_app
from tests.conftest import ROOT
from tests.test_cli import distro as in_subprocess


def distro(workdir: Path, *args: str, check: bool = True) -> Any:
    env = {"DISTRO_DATABASE_URL": (workdir / ".db").read_text(), "DISTRO_VAR_DIR": str(workdir / "var")}
    result = CliRunner().invoke(cli, list(args), env=env)
    if check and result.exit_code != 0:
        raise AssertionError(f"distro {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    (tmp_path / ".db").write_text(f"sqlite:///{tmp_path / 'distro.db'}")
    return tmp_path


def test_create_list_revoke(workdir: Path) -> None:
    made = in_subprocess(workdir, "api-tokens", "create", "zapier", "--scope", "write")
    token = made.stdout.strip()
    assert token.startswith("distro_") and len(token) == 50
    assert "shown this once" in made.stderr
    distro(workdir, "api-tokens", "create", "dashboard")  # read by default
    listed = json.loads(distro(workdir, "api-tokens", "list", "--format", "json").stdout)
    assert [(t["name"], t["scope"], t["last_used_at"], t["revoked_at"]) for t in listed] == [
        ("dashboard", "read", None, None),
        ("zapier", "write", None, None),
    ]
    assert token not in distro(workdir, "api-tokens", "list").stdout
    settings = Settings(database_url=(workdir / ".db").read_text(), var_dir=workdir / "var")
    app = build_app(settings)
    try:
        with TestClient(create_web_app(app)) as client:
            headers = {"Authorization": f"Bearer {token}"}
            created = client.post("/api/v1/subscribers", json={"email": "ana@example.org"}, headers=headers)
            assert created.status_code == 201
            assert "zapier: revoked" in distro(workdir, "api-tokens", "revoke", "zapier").stdout
            assert client.get("/api/v1/subscribers", headers=headers).status_code == 401
    finally:
        app.engine.dispose()
    assert "was revoked already" in distro(workdir, "api-tokens", "revoke", "zapier").stdout
    listed = json.loads(distro(workdir, "api-tokens", "list", "--format", "json").stdout)
    zapier = next(t for t in listed if t["name"] == "zapier")
    assert zapier["last_used_at"] and zapier["revoked_at"]
    for args, message in [
        (("create", "zapier", "--scope", "write"), "a token named 'zapier' exists already"),
        (("create", "x", "--scope", "admin"), "bad scope 'admin': use read or write"),
        (("create", "no spaces"), "bad token name 'no spaces'"),
        (("revoke", "nobody"), "no API token named 'nobody'"),
    ]:
        failed = distro(workdir, "api-tokens", *args, check=False)
        # main() prints a DistroError as one line and exits 1 (tests/test_cli.py runs that path)
        assert isinstance(failed.exception, DistroError) and message in str(failed.exception)
        assert "\n" not in str(failed.exception)
