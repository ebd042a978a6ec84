"""``[[webhooks]]`` as an operator writes it: every mistake refused at load with one clear line, the
secret never printed; ``distro webhooks list`` and ``distro webhooks test NAME`` against the receiver."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from distro.app import build_app
from distro.cli import cli
from distro.db import upgrade
from distro.errors import ConfigError
from distro.logs import secret_values
from distro.services.delivery import dispatch
from distro.services.subscribers import add_subscriber
from distro.settings import load_settings
from tests.webhooks.conftest import SECRET, SECRET_ENV, Receiver

GOOD = {"name": '"crm"', "url": '"https://hooks.example.org/distro"', "events": '["article.published"]'}


def write(tmp_path: Path, receiver_url: str | None = None, **fields: str) -> Path:
    entry = {**GOOD, "secret_env": f'"{SECRET_ENV}"', **fields}
    if receiver_url is not None:
        entry |= {"url": f'"{receiver_url}"', "allow_private_addresses": "true"}
    lines = [
        f'database_url = "sqlite:///{tmp_path / "d.db"}"',
        f'var_dir = "{tmp_path / "var"}"',
        "[[webhooks]]",
    ]
    lines += [f"{key} = {value}" for key, value in entry.items() if value]
    path = tmp_path / "distro.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"events": '["article.published", "article.deleted"]'}, "unknown event 'article.deleted'"),
        ({"url": '"ftp://hooks.example.org/"'}, "http:// or https://"),
        ({"url": '"https://user:pw@hooks.example.org/"'}, "must not hold a user name or password"),
        ({"secret_env": '"DISTRO_NO_SUCH_SECRET"'}, "DISTRO_NO_SUCH_SECRET is not set"),
        ({"secret": '"whsec_abc"'}, "never goes in the configuration"),
        ({"timeout": "0"}, "timeout"),
    ],
)
def test_a_bad_webhook_is_refused_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fields: dict[str, str], words: str
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with pytest.raises(ConfigError) as refused:
        load_settings(write(tmp_path, **fields))
    message = str(refused.value)
    assert words in message and "webhooks" in message and "\n" not in message
    assert SECRET not in message


@pytest.mark.parametrize("value", ["whsec_", "whsec_not base64!", "whsec_" + "QUJD"])
def test_a_malformed_secret_is_refused_naming_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(SECRET_ENV, value)
    with pytest.raises(ConfigError, match=f"{SECRET_ENV} must be whsec_ followed by the base64"):
        load_settings(write(tmp_path))


def test_the_same_name_twice_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    path = write(tmp_path)
    path.write_text(path.read_text() + path.read_text().split("[[webhooks]]")[1].join(["[[webhooks]]", ""]))
    with pytest.raises(ConfigError, match="the name crm is used twice"):
        load_settings(path)


def test_list_shows_host_and_events_never_the_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    path = write(tmp_path, events='["article.published", "subscriber.created"]')
    for fmt in ("table", "json"):
        result = CliRunner().invoke(cli, ["--config", str(path), "webhooks", "list", "--format", fmt])
        assert result.exit_code == 0, result.output
        assert "crm" in result.output and "hooks.example.org" in result.output
        assert "subscriber.created" in result.output and "/distro" not in result.output
        assert SECRET not in result.output and SECRET.removeprefix("whsec_")[:12] not in result.output
    settings = load_settings(path)
    assert SECRET not in repr(settings) and SECRET not in settings.model_dump_json()


def test_test_sends_a_signed_event_and_prints_the_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    path = write(tmp_path, receiver.url)
    result = CliRunner().invoke(cli, ["--config", str(path), "webhooks", "test", "crm"])
    assert result.exit_code == 0, result.output
    assert "crm: ok" in result.output and "answered 200" in result.output
    (event,) = receiver.events
    assert event.type == "webhook.test" and event.webhook_id.startswith("webhook:crm:test_")
    assert event.webhook_id in result.output

    receiver.answer = [400]
    result = CliRunner().invoke(cli, ["--config", str(path), "webhooks", "test", "crm"])
    assert result.exit_code == 1 and "crm: failed" in result.output and "answered 400" in result.output
    result = CliRunner().invoke(cli, ["--config", str(path), "webhooks", "test", "nope"])
    assert "no webhook called 'nope'" in str(result.exception)  # main() prints it as one line


def test_a_private_address_is_refused_unless_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    path = write(tmp_path, url=f'"{receiver.url}"')
    result = CliRunner().invoke(cli, ["--config", str(path), "webhooks", "test", "crm"])
    assert result.exit_code == 1 and "loopback, private or link-local" in result.output
    assert "webhooks.crm.allow_private_addresses" in result.output
    assert receiver.tries == []


def test_deliveries_show_in_distro_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    path = write(tmp_path, receiver.url, events='["subscriber.created"]')
    receiver.answer = [400]
    app = build_app(load_settings(path))
    upgrade(app.engine)
    add_subscriber(app, "reader@example.org")
    assert dispatch(app)["webhook"].permanent == 1
    app.engine.dispose()
    result = CliRunner().invoke(
        cli, ["--config", str(path), "log", "--channel", "webhook"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "webhook" in result.output and "crm" in result.output and "failed" in result.output
    assert "answered 400" in result.output


def test_the_secret_is_redacted_from_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    assert SECRET in secret_values(load_settings(write(tmp_path)))
