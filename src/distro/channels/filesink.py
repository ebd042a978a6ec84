"""The embedded default channels: write what would be sent to files instead of the network.

Email becomes one ``.eml`` per delivery (the bytes SMTP DATA would carry, under the ``Return-Path:`` header
the final MTA would add from the envelope sender, so a VERP bounce address can be seen) and social posts
become the exact JSON request body per post. Files are named by idempotency key and written atomically, so a
retried delivery overwrites its own file instead of producing a second one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from distro.channels.base import EmailOut, Receipt, SocialOut
from distro.errors import PermanentFailure, TemporaryFailure

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(key: str, suffix: str) -> str:
    return _UNSAFE.sub("_", key).strip("._")[:200] + suffix


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno in (28, 122):  # no space, quota: may clear up
            raise TemporaryFailure(f"cannot write {path}: {exc.strerror}") from exc
        raise PermanentFailure(f"cannot write {path}: {exc.strerror}") from exc


def return_path(sender: str, data: bytes) -> bytes:
    """The ``Return-Path:`` line a delivering MTA puts on top (RFC 5321 4.4), in the message's line ending."""
    newline = b"\r\n" if b"\r\n" in data[:2000] else b"\n"
    return b"Return-Path: <" + sender.encode("utf-8") + b">" + newline


class EmailFileSink:
    name = "email"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailOut) -> Receipt:
        path = self.directory / file_name(message.key, ".eml")
        _write_atomically(path, return_path(message.sender, message.data) + message.data)
        return Receipt(provider_id=path.name, detail=str(path))

    def close(self) -> None:
        return None


class SocialFileSink:
    def __init__(self, directory: Path, platform: str) -> None:
        self.directory = directory / platform
        self.name = platform

    def send(self, message: SocialOut) -> Receipt:
        path = self.directory / file_name(message.key, ".json")
        data = json.dumps(message.body, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        _write_atomically(path, data.encode("utf-8"))
        return Receipt(provider_id=path.name, detail=str(path))

    def close(self) -> None:
        return None
