"""Postfix's ``smtp-sink`` on loopback for benchmarks: a C SMTP server that accepts and discards mail.

Only the ``smtp-sink`` program is run, never the Postfix mail system. It offers PIPELINING by default, so
a client that pipelines is measured against a server that allows it, as real relays do.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
_INSTALL = (
    "echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections; "
    "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 postfix >/dev/null"
)


def find_smtp_sink(*, install: bool = True) -> str:
    """The path of ``smtp-sink``; installs the Debian package ``postfix`` when missing and allowed."""
    found = shutil.which("smtp-sink") or next(
        (str(p) for p in (Path("/usr/sbin/smtp-sink"), Path("/usr/lib/postfix/smtp-sink")) if p.exists()),
        None,
    )
    if found:
        return found
    if install and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["sh", "-c", _INSTALL], check=True)
        return find_smtp_sink(install=False)
    raise SystemExit(
        "smtp-sink not found: install the Debian package postfix "
        "(preseed postfix/main_mailer_type 'No configuration'), or run this as root to let it install"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class SmtpSink:
    """``with SmtpSink() as sink:`` runs ``smtp-sink`` on ``sink.port`` until the block ends."""

    def __init__(self, backlog: int = 1000) -> None:
        self.program = find_smtp_sink()
        self.port = _free_port()
        self.backlog = backlog
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SmtpSink:
        # -4: IPv4 only; -m: connections at once (more than any benchmark opens); output is not needed.
        command = [self.program, "-4", "-m", "512", f"{HOST}:{self.port}", str(self.backlog)]
        if os.geteuid() == 0:
            command[1:1] = ["-u", "nobody"]  # smtp-sink refuses to run as root
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SystemExit(f"smtp-sink exited: {self._process.stderr.read().decode()[:500]}")  # type: ignore[union-attr]
            try:
                with socket.create_connection((HOST, self.port), timeout=1) as probe:
                    probe.recv(100)  # the greeting
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__(None, None, None)
        raise SystemExit(f"smtp-sink did not listen on {HOST}:{self.port} within 10 s")

    def cpu_seconds(self) -> float:
        """User + system CPU the sink has used so far (from /proc), to show it is not the bottleneck."""
        if self._process is None:
            return 0.0
        fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
