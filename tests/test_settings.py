"""Settings: TOML then DISTRO_* overrides, secrets only from the environment, never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from distro.errors import ConfigError
from distro.settings import Settings, load_settings, read_config_file

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "distro.toml"
    path.write_text(text)
    return path


def test_file_values_are_read_and_environment_overrides_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(
        tmp_path, '[smtp]\nhost = "mail.file.example"\nport = 2525\n[digest]\ntimezone = "America/New_York"\n'
    )
    monkeypatch.setenv("DISTRO_SMTP__HOST", "mail.env.example")
    settings = load_settings(path)
    assert settings.smtp.host == "mail.env.example"
    assert settings.smtp.port == 2525
    assert settings.digest.timezone == "America/New_York"


def test_a_secret_in_the_file_is_refused_with_the_variable_to_use(tmp_path: Path) -> None:
    path = write(tmp_path, '[smtp]\npassword = "hunter2"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert "DISTRO_SMTP__PASSWORD" in str(error.value)
    assert "hunter2" not in str(error.value)


def test_secrets_from_the_environment_are_masked_when_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISTRO_SMTP__PASSWORD", "hunter2")
    monkeypatch.setenv("DISTRO_X__ACCESS_TOKEN_SECRET", "tok-secret-123")
    settings = load_settings(write(tmp_path, ""))
    assert settings.smtp.password is not None and settings.smtp.password.get_secret_value() == "hunter2"
    printed = repr(settings) + str(settings) + settings.model_dump_json()
    assert "hunter2" not in printed and "tok-secret-123" not in printed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[digest]\ntimezone = "Mars/Olympus"\n', "unknown IANA timezone"),
        ('[smtp]\nport = "many"\n', "smtp.port"),
        ('[email]\nmode = "pigeon"\n', "email.mode"),
        ("[smtp]\nhots = 1\n", "smtp.hots"),
        ("[smtp\n", "distro.toml"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=None) as error:
        load_settings(write(tmp_path, text))
    assert expected in str(error.value)


def test_config_files_in_the_repository_are_valid_and_example_documents_every_key() -> None:
    load_settings(ROOT / "config" / "distro.toml")
    example = load_settings(ROOT / "config" / "example.toml")
    text = (ROOT / "config" / "example.toml").read_text()
    data = read_config_file(ROOT / "config" / "example.toml")
    for name in Settings.model_fields:
        section = getattr(example, name)
        if hasattr(type(section), "model_fields"):
            assert f"[{name}]" in text, name
            for key in type(section).model_fields:
                assert f"{key} =" in text or f"# {key}:" in text, f"{name}.{key} undocumented"
        elif name != "sources":
            assert name in data or f"# {name}:" in text, f"{name} undocumented"
    assert "sources" in data
