"""Roles of desk accounts and the activity record: the commands, the migration, what each change writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from distro.app import App
from distro.cli import cli
from distro.db import make_engine, upgrade
from distro.errors import InvalidInput
from distro.models import Activity
from distro.services.activity import list_activity, record_activity
from distro.services.editors import EditorError, LoginRefused, add_editor, authenticate, set_role
from tests.conftest import ROOT

PASSWORD = "correct horse battery staple"


def rows(app: App) -> list[tuple[str, str, str, str]]:
    with app.engine.connect() as connection:
        query = sa.select(Activity.actor, Activity.action, Activity.subject, Activity.detail).order_by(
            sa.column("id")
        )
        return [tuple(r) for r in connection.execute(query)]  # type: ignore[misc]


def test_roles_are_checked_and_recorded(app: App) -> None:
    add_editor(app, "Ana@Example.org", PASSWORD, actor="cli:ana")
    with pytest.raises(EditorError, match="'owner' is not a role; use one of admin, editor, viewer"):
        add_editor(app, "bo@example.org", PASSWORD, role="owner")
    assert set_role(app, "ana@example.org", "viewer", actor="editor:boss@example.org").role == "viewer"
    with pytest.raises(EditorError, match="no editor"):
        set_role(app, "nobody@example.org", "admin")
    assert rows(app) == [
        ("cli:ana", "editor.add", "editor ana@example.org", "editor"),
        ("editor:boss@example.org", "editor.role", "editor ana@example.org", "editor -> viewer"),
    ]


def test_sign_ins_are_recorded_without_passwords_or_unknown_addresses(app: App) -> None:
    add_editor(app, "ana@example.org", PASSWORD)
    authenticate(app, "ana@example.org", PASSWORD, client="192.0.2.7")
    for address, password in (("ana@example.org", "wrong password!"), (PASSWORD, "x"), ("st@r.example", "p")):
        with pytest.raises(LoginRefused):
            authenticate(app, address, password, client="192.0.2.8")
    recorded = rows(app)[1:]
    assert recorded == [
        ("editor:ana@example.org", "signin", "editor ana@example.org", "from 192.0.2.7"),
        ("anonymous", "signin.failed", "editor ana@example.org", "from 192.0.2.8"),
        ("anonymous", "signin.failed", "an unknown address", "from 192.0.2.8"),
        ("anonymous", "signin.failed", "an unknown address", "from 192.0.2.8"),
    ]
    assert not any("wrong password" in str(r) or PASSWORD in str(r) or "st@r" in str(r) for r in recorded)


def test_activity_pages_newest_first_and_filters(app: App) -> None:
    from distro.db import session_scope

    with session_scope(app.engine) as session:
        for n in range(5):
            record_activity(session, actor=f"editor:{n % 2}@x.org", action=f"post.{n}", subject=f"post {n}")
        record_activity(session, actor="cli", action="postman", detail="  two\nlines  ")
    first = list_activity(app, limit=4)
    assert [r.action for r in first.rows] == ["postman", "post.4", "post.3", "post.2"]
    assert first.rows[0].detail == "two lines"
    second = list_activity(app, limit=4, after=first.next_key)
    assert [r.action for r in second.rows] == ["post.1", "post.0"] and second.next_key is None
    assert [r.subject for r in list_activity(app, actor="editor:1@x.org").rows] == ["post 3", "post 1"]
    assert len(list_activity(app, action="post").rows) == 5  # its children, not "postman"
    with pytest.raises(InvalidInput, match="is not a page"):
        list_activity(app, after="yesterday")


def test_editors_from_before_roles_become_admins(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from distro.db import MIGRATIONS

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
        connection.execute(
            sa.text(
                "INSERT INTO editor (email, password_hash, created_at, failed_logins) "
                "VALUES ('old@example.org', 'x', '2026-11-20 07:00:00', 0)"
            )
        )
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT role FROM editor")).scalar_one() == "admin"
    engine.dispose()


def test_editors_commands_and_distro_activity(tmp_path: Path) -> None:
    env = {
        "DISTRO_DATABASE_URL": f"sqlite:///{tmp_path / 'distro.db'}",
        "DISTRO_VAR_DIR": str(tmp_path / "var"),
        "DISTRO_TEMPLATES_DIR": str(ROOT / "templates"),
        "USER": "ana",
        "LOGNAME": "ana",
    }
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> str:
        result = runner.invoke(cli, list(args), env=env, input=stdin)
        assert result.exit_code == 0, result.output
        return result.stdout

    run("editors", "add", "ed@example.org", "--password-stdin", stdin=PASSWORD + "\n")
    run("editors", "add", "vi@example.org", "--role", "viewer", "--password-stdin", stdin=PASSWORD + "\n")
    assert "now admin" in run("editors", "role", "ed@example.org", "admin")
    refused = runner.invoke(cli, ["editors", "role", "ed@example.org", "owner"], env=env)
    assert refused.exit_code != 0 and "owner" in refused.output
    listed = json.loads(run("editors", "list", "--format", "json"))
    assert {(e["email"], e["role"]) for e in listed} == {
        ("ed@example.org", "admin"),
        ("vi@example.org", "viewer"),
    }
    record = json.loads(run("activity", "--format", "json"))
    assert [(r["actor"], r["action"], r["subject"]) for r in record] == [
        ("cli:ana", "editor.role", "editor ed@example.org"),
        ("cli:ana", "editor.add", "editor vi@example.org"),
        ("cli:ana", "editor.add", "editor ed@example.org"),
    ]
    assert set(record[0]) == {"at", "actor", "action", "subject", "detail"}
    assert len(json.loads(run("activity", "--format", "json", "--limit", "1"))) == 1
    table = run("activity", "--action", "editor.role")
    assert "editor.role" in table and "editor.add" not in table
