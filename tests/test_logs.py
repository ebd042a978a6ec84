"""Logs: JSON lines when asked, and configured secrets never reach a log line, whoever logs them."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import SecretStr

from distro.logs import JsonFormatter, configure_logging, redact, secret_values
from distro.settings import Settings, SourceSettings


@pytest.fixture(autouse=True)
def restore_root_logger() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)


def test_secret_values_finds_every_configured_secret() -> None:
    settings = Settings(secret_key=SecretStr("signing-key-1"))
    settings.smtp.password = SecretStr("smtp-pass-2")
    settings.x.access_token_secret = SecretStr("x-secret-3")
    assert {"signing-key-1", "smtp-pass-2", "x-secret-3"} <= secret_values(settings)


def test_secrets_are_redacted_from_messages_and_tracebacks(capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging(verbose=True, fmt="text")
    redact({"hunter2-password", "EAAGtoken123"})
    log = logging.getLogger("urllib3.connectionpool")
    log.info("GET /feed?access_token=%s HTTP/1.1", "EAAGtoken123")
    try:
        raise RuntimeError("login failed with hunter2-password")
    except RuntimeError:
        log.exception("oops")
    err = capfd.readouterr().err
    assert "EAAGtoken123" not in err and "hunter2-password" not in err
    assert err.count("[redacted]") == 3  # the message, and the traceback's source and exception lines


def test_tokens_in_query_strings_are_masked_even_when_not_configured(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A stored token (Threads takes it as ?access_token=) is in no setting, so no secret list has it."""
    configure_logging(verbose=True, fmt="text")
    logging.getLogger("urllib3.connectionpool").info(
        'graph.threads.net:443 "GET /v1.0/17841/threads?fields=id&access_token=THAAstored123&limit=25 '
        'HTTP/1.1" 200 and /refresh_access_token?grant_type=th_refresh_token&access_token=THAAother456'
    )
    err = capfd.readouterr().err
    assert "THAAstored123" not in err and "THAAother456" not in err
    assert "access_token=[token]&limit=25" in err and "fields=id" in err


def test_json_lines() -> None:
    record = logging.LogRecord("distro.dispatch", logging.WARNING, __file__, 1, "paused %s", ("email",), None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "warning" and entry["logger"] == "distro.dispatch"
    assert entry["message"] == "paused email" and entry["ts"].endswith("+00:00")


def test_every_url_credential_in_a_message_is_stripped_even_without_configured_secrets(
    capfd: pytest.CaptureFixture[str],
) -> None:
    configure_logging(verbose=True, fmt="text")  # no redact(): the URL filter is there from the start
    log = logging.getLogger("distro.sources")
    log.warning(
        "fetch %s failed, then %s redirected to %s",
        "https://reader:hunter2@a.example/feed",
        "postgresql+psycopg://distro:pg-pass@db.example/distro",
        "http://TOKEN-ONLY@b.example/x",
    )
    err = capfd.readouterr().err
    assert "hunter2" not in err and "pg-pass" not in err and "TOKEN-ONLY" not in err and "reader" not in err
    assert "https://a.example/feed" in err and "http://b.example/x" in err


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_tracebacks_are_cleaned_in_both_formats(capfd: pytest.CaptureFixture[str], fmt: str) -> None:
    configure_logging(verbose=True, fmt=fmt)
    redact({"smtp-hunter2"})
    try:
        raise RuntimeError("login smtp-hunter2 at https://u:url-pass@mail.example/")
    except RuntimeError:
        logging.getLogger("distro.dispatch").exception("send failed")
    err = capfd.readouterr().err
    assert "smtp-hunter2" not in err and "url-pass" not in err and "RuntimeError" in err


def test_link_tokens_in_access_log_lines_are_masked(capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging(verbose=True, fmt="text")
    log = logging.getLogger("uvicorn.access")
    paths = ("/unsubscribe/dW5zdWI.c2ln?list=weekly", "/preferences/cHJlZnM.c2ln", "/confirm/Y29uZg.c2ln")
    for path in (*paths, "/change-address/Y2hhbmdl.c2ln", "/websub/12/c2lnc2VjcmV0"):
        log.info('%s - "%s %s HTTP/1.1" %d', "127.0.0.1:5000", "GET", path, 200)
    err = capfd.readouterr().err
    assert "c2ln" not in err
    assert "/unsubscribe/[token]?list=weekly" in err and "/preferences/[token]" in err
    assert "/confirm/[token]" in err and "/change-address/[token]" in err and "/websub/12/[token]" in err


def test_a_server_log_level_left_behind_does_not_hide_later_lines(capfd: pytest.CaptureFixture[str]) -> None:
    access = logging.getLogger("uvicorn.access")
    access.setLevel(logging.WARNING)  # what uvicorn.Config(log_level="warning") leaves behind
    configure_logging(verbose=True, fmt="text")
    access.info('%s - "GET %s HTTP/1.1" 200', "127.0.0.1:5000", "/confirm/Y29uZg.c2ln")
    assert "/confirm/[token]" in capfd.readouterr().err


def test_secret_values_include_source_headers_and_url_passwords() -> None:
    settings = Settings(
        database_url="postgresql+psycopg://distro:pg%40pass@db.example/distro",
        sources=[SourceSettings(name="private", url="https://reader:feed-pass@f.example/rss")],
        source_headers={"private": {"Authorization": SecretStr("Bearer tok-abcdef")}},
    )
    found = secret_values(settings)
    assert {"pg@pass", "pg%40pass", "feed-pass", "Bearer tok-abcdef", "tok-abcdef"} <= found


def test_a_server_log_config_from_before_cannot_keep_access_lines_from_the_redaction(
    capfd: pytest.CaptureFixture[str],
) -> None:
    import logging.config

    import uvicorn.config

    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)  # its own handlers, propagate off
    configure_logging(verbose=True, fmt="text")
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/1.1" %d', "127.0.0.1:5000", "GET", "/unsubscribe/dW5zdWI.c2ln", 200
    )
    captured = capfd.readouterr()
    assert "c2ln" not in captured.out + captured.err
    assert "/unsubscribe/[token]" in captured.err
