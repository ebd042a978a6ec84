"""Logging: human lines or one JSON object per line, and no secret ever printed.

Every configured secret value (SMTP password, tokens, keys, secret request headers, the database
password) is replaced by ``[redacted]`` in each record before it is formatted, whatever logger wrote it, and
the user-info part of every URL in it (``https://user:pw@host``) is dropped, so a library that logs a request
URL or header cannot leak a credential into the operator's log pipeline. The signed token in a subscriber
link (``/unsubscribe/<token>``, ``/preferences/<token>``, ``/confirm/<token>``, ``/change-address/<token>``)
and the secret of a WebSub callback (``/websub/<id>/<secret>``) are masked too: the web server's access log
would otherwise hand whoever reads the logs every reader's preferences page.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretStr

from distro.urls import strip_credentials

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
# Paths that carry a token or secret; it runs up to the next "/", the query, a quote or a space. And query
# parameters that do (Threads takes its token as ?access_token=, which urllib3 logs at DEBUG).
_TOKEN_PATHS = (
    re.compile(r"(/(?:unsubscribe|preferences|confirm|change-address)/)[^/?#\s\"']+"),
    re.compile(r"(/websub/\d+/)[^/?#\s\"']+"),
    re.compile(
        r"([?&](?:access_token|refresh_token|client_secret|fb_exchange_token|input_token)=)"
        r"(?!\[redacted\])[^&#\s\"']+"
    ),
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message (+ exc when there is one)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info or record.exc_text:
            # exc_text is the traceback RedactSecrets already cleaned; format it afresh only without one.
            entry["exc"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, ensure_ascii=False)


class RedactSecrets(logging.Filter):
    """Replace configured secrets by ``[redacted]`` and drop URL credentials, in the message and traceback."""

    def __init__(self, secrets: set[str]) -> None:
        super().__init__()
        self.secrets = sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = strip_credentials(text)
        for pattern in _TOKEN_PATHS:
            text = pattern.sub(r"\1[token]", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self._clean(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def secret_values(model: BaseModel) -> set[str]:
    """Every SecretStr value set anywhere in ``model`` (nested models, lists and dicts included), and the
    password of every URL among its plain strings (``database_url``, a source's ``url``)."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            found.add(secret)
            found.add(secret.partition(" ")[2])  # "Bearer <token>": the token alone is as secret
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
            for item in (value.__pydantic_private__ or {}).values():  # e.g. a webhook's secret
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, str) and "@" in value:
            found.update(_url_password(value))

    walk(model)
    return found


def _url_password(text: str) -> set[str]:
    try:
        password = urlsplit(text).password
    except ValueError:
        return set()
    return {password, unquote(password)} if password else set()


_SERVER_LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error")


def configure_logging(*, verbose: bool, fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    handler.addFilter(RedactSecrets(set()))  # URL credentials and link tokens, before any secret is known
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    for name in _SERVER_LOGGERS:  # a server started with its own log config keeps lines from the redaction
        server = logging.getLogger(name)
        server.handlers.clear()
        server.setLevel(logging.NOTSET)  # a server's log_level must not outlive it: the root's level decides
        server.propagate, server.disabled = True, False


def redact(secrets: set[str]) -> None:
    """Install (or replace) the redaction filter on every root handler."""
    for handler in logging.getLogger().handlers:
        handler.filters[:] = [f for f in handler.filters if not isinstance(f, RedactSecrets)]
        handler.addFilter(RedactSecrets(secrets))
