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


@pytest.mark.parametrize(
    ("text", "variable"),
    [
        ('[smtp]\npassword = "hunter2"\n', "DISTRO_SMTP__PASSWORD"),
        ('[linkedin]\nclient_secret = "hunter2"\n', "DISTRO_LINKEDIN__CLIENT_SECRET"),
    ],
)
def test_a_secret_in_the_file_is_refused_with_the_variable_to_use(
    tmp_path: Path, text: str, variable: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert variable in str(error.value)
    assert "hunter2" not in str(error.value)


def test_threads_and_linkedin_are_off_by_default_and_refuse_a_bad_version(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""))
    assert not settings.threads.enabled and not settings.linkedin.enabled
    assert settings.threads.mode == settings.linkedin.mode == "file"
    assert settings.threads.refresh_days == settings.linkedin.refresh_days == 7
    with pytest.raises(ConfigError, match="linkedin.linkedin_version"):
        load_settings(write(tmp_path, '[linkedin]\nlinkedin_version = "2026-07"\n'))


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


SOURCE = '[[sources]]\nname = "private"\nurl = "https://f.example/rss"\n'


@pytest.mark.parametrize(
    ("text", "variable"),
    [
        ('database_url = "postgresql+psycopg://distro:hunter2@db.example/distro"\n', "DISTRO_DATABASE_URL"),
        (
            '[[sources]]\nname = "private"\nurl = "https://reader:hunter2@feeds.example/rss"\n',
            "SOURCE_HEADERS",
        ),
        (SOURCE + 'headers = { Authorization = "Bearer hunter2" }\n', "SOURCE_HEADERS"),
        (SOURCE + 'headers = { Cookie = "sid=hunter2" }\n', "SOURCE_HEADERS"),
        (SOURCE + 'headers = { "X-Api-Key" = "hunter2" }\n', "SOURCE_HEADERS"),
        (SOURCE + 'headers = { "PRIVATE-TOKEN" = "hunter2" }\n', "SOURCE_HEADERS"),
        (SOURCE + 'secret_headers = { A = "hunter2" }\n', "SOURCE_HEADERS"),
        ('secret_key_previous = ["hunter2"]\n', "DISTRO_SECRET_KEY_PREVIOUS"),
        ('[web]\nmetrics_token = "hunter2"\n', "DISTRO_WEB__METRICS_TOKEN"),
        ('source_headers = { private = { Authorization = "hunter2" } }\n', "DISTRO_SOURCE_HEADERS"),
    ],
)
def test_secrets_hidden_in_plain_values_are_refused_in_the_file(
    tmp_path: Path, text: str, variable: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text))
    assert variable in str(error.value) and "hunter2" not in str(error.value)


def test_plain_headers_and_a_password_free_database_url_are_fine_in_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'database_url = "postgresql+psycopg://distro@db.example/distro"\n'
        '[[sources]]\nname = "feed"\nurl = "https://f.example/rss"\nheaders = { "Accept-Language" = "en" }\n',
    )
    settings = load_settings(path)
    assert settings.sources[0].request_headers() == {"Accept-Language": "en"}


def test_source_headers_from_the_environment_reach_the_request_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISTRO_SOURCE_HEADERS", '{"private": {"Authorization": "Bearer tok-123456"}}')
    path = write(
        tmp_path,
        SOURCE + 'headers = { "Accept-Language" = "en" }\n'
        '[[sources]]\nname = "public"\nurl = "https://p.example/rss"\n',
    )
    settings = load_settings(path)
    private, public = settings.sources
    assert private.request_headers() == {"Accept-Language": "en", "Authorization": "Bearer tok-123456"}
    assert public.request_headers() == {}
    printed = repr(settings) + str(settings) + settings.model_dump_json()
    assert "tok-123456" not in printed


def test_source_headers_for_an_unknown_source_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISTRO_SOURCE_HEADERS", '{"privat": {"Authorization": "Bearer tok-123456"}}')
    path = write(tmp_path, '[[sources]]\nname = "private"\nurl = "https://f.example/rss"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert "privat" in str(error.value) and "tok-123456" not in str(error.value)


@pytest.mark.parametrize("value", ['["old-key-1", "old-key-2"]', "old-key-1, old-key-2"])
def test_previous_keys_come_from_the_environment_as_a_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("DISTRO_SECRET_KEY_PREVIOUS", value)
    settings = load_settings(write(tmp_path, ""))
    assert [k.get_secret_value() for k in settings.secret_key_previous] == ["old-key-1", "old-key-2"]
    assert "old-key-1" not in repr(settings)


def test_forwarded_headers_are_trusted_from_nobody_unless_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings(write(tmp_path, "")).web.forwarded_allow_ips == []
    monkeypatch.setenv("DISTRO_WEB__FORWARDED_ALLOW_IPS", "127.0.0.1, 10.0.0.0/8")
    assert load_settings(write(tmp_path, "")).web.forwarded_allow_ips == ["127.0.0.1", "10.0.0.0/8"]
    monkeypatch.setenv("DISTRO_WEB__FORWARDED_ALLOW_IPS", "proxy.example")
    with pytest.raises(ConfigError, match="forwarded_allow_ips"):
        load_settings(write(tmp_path, ""))
