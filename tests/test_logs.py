"""Logs: JSON lines when asked, and configured secrets never reach a log line, whoever logs them."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import SecretStr

from distro.logs import JsonFormatter, configure_logging, redact, secret_values
from distro.settings import Settings


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


def test_json_lines() -> None:
    record = logging.LogRecord("distro.dispatch", logging.WARNING, __file__, 1, "paused %s", ("email",), None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "warning" and entry["logger"] == "distro.dispatch"
    assert entry["message"] == "paused email" and entry["ts"].endswith("+00:00")
