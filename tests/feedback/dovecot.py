"""A real Dovecot IMAP server for tests, started from Debian's ``dovecot-imapd`` with a config of its own.

It listens on 127.0.0.1 only, on two free ports: implicit TLS (``ssl_port``) and STARTTLS
(``starttls_port``), with a trustme certificate for 127.0.0.1 and localhost (``ca_file``).
Any user name logs in with :data:`PASSWORD` and gets a fresh maildir, so each test takes a user of its
own (:func:`new_user`) and one server serves a whole module.

Dovecot refuses to give mail access to root, so under root the mail belongs to the package's ``dovecot``
user; its runtime directory and the mail then live in a directory of /tmp that user can reach (pytest's
tmp_path is private to root). Run by another user, every Dovecot process runs as that user instead
(Dovecot's unprivileged mode, no chroot). The config and the log stay in the test's directory.
``capabilities`` replaces what Dovecot offers after login (e.g. without MOVE, to exercise the COPY
fallback).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

from tests import processes

HOST = "127.0.0.1"
PASSWORD = "dovecot-test-pw-5c1f"  # the test server's only password, good for any user


@dataclass(frozen=True, slots=True)
class Dovecot:
    ssl_port: int
    starttls_port: int
    ca_file: Path  # the trustme CA that signed the server's certificate
    log: Path

    host: str = HOST


def dovecot_binary() -> str | None:
    """Debian puts it in /usr/sbin, which a non-root PATH may lack."""
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


def new_user() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on, distinct (bound together, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextmanager
def running_dovecot(directory: Path, *, capabilities: str | None = None) -> Iterator[Dovecot]:
    """Start Dovecot with its config in ``directory``; stop it and remove its mail afterwards."""
    mail_user = pwd.getpwnam("dovecot") if os.getuid() == 0 else pwd.getpwuid(os.getuid())
    runtime = Path(tempfile.mkdtemp(prefix="distro-dovecot-"))
    runtime.chmod(0o755)
    (runtime / "mail").mkdir()
    os.chown(runtime / "mail", mail_user.pw_uid, mail_user.pw_gid)
    ssl_port, starttls_port = free_ports(2)
    server = Dovecot(ssl_port, starttls_port, directory / "ca.pem", directory / "dovecot.log")
    config = _write_config(directory, runtime, server, mail_user, capabilities)
    with (directory / "dovecot.out").open("wb") as output:
        # Not processes.spawn: its reaper stops every child at the end of each test, and this server
        # serves a module. It still dies with the test process (PR_SET_PDEATHSIG); its children follow.
        process = subprocess.Popen(
            [dovecot_binary() or "dovecot", "-F", "-c", str(config)],
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=processes.die_with_parent,
        )
    try:
        _wait_until_listening(process, server, directory)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(runtime, ignore_errors=True)


def _write_config(
    directory: Path, runtime: Path, server: Dovecot, mail_user: pwd.struct_passwd, capabilities: str | None
) -> Path:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(server.ca_file))
    leaf = ca.issue_cert(HOST, "localhost")
    leaf.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
    leaf.private_key_pem.write_to_path(str(directory / "key.pem"))
    unprivileged = os.getuid() != 0  # then every Dovecot process runs as this user
    lines = [
        f"base_dir = {runtime}/run",
        f"state_dir = {runtime}/state",
        f"log_path = {server.log}",
        "protocols = imap",
        f"listen = {HOST}",
        "ssl = required",
        f"ssl_cert = <{directory}/cert.pem",
        f"ssl_key = <{directory}/key.pem",
        "disable_plaintext_auth = yes",
        "auth_failure_delay = 0",
        f"mail_location = maildir:{runtime}/mail/%u",
        f"first_valid_uid = {mail_user.pw_uid}",
        f"first_valid_gid = {mail_user.pw_gid}",
        *(_run_as(mail_user) if unprivileged else []),
        *([f"imap_capability = {capabilities}"] if capabilities is not None else []),
        "passdb {",
        "  driver = static",
        f"  args = password={PASSWORD} nodelay=yes",  # no 2-15 s wait after a wrong password
        "}",
        "userdb {",
        "  driver = static",
        f"  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={runtime}/mail/%u",
        "}",
        # No growing wait for logins from 127.0.0.1 after a wrong password (Dovecot's documented switch).
        # No chroot (an unprivileged Dovecot cannot chroot; a test gains nothing from it).
        "service anvil {\n  chroot =\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}",
        "service imap-login {",
        "  chroot =",
        f"  inet_listener imap {{\n    address = {HOST}\n    port = {server.starttls_port}\n  }}",
        f"  inet_listener imaps {{\n    address = {HOST}\n    port = {server.ssl_port}\n    ssl = yes\n  }}",
        "}",
    ]
    config = directory / "dovecot.conf"
    config.write_text("\n".join(lines) + "\n")
    return config


def _run_as(user: pwd.struct_passwd) -> list[str]:
    """Every process as ``user`` (Dovecot's unprivileged mode), sockets in its group."""
    group = grp.getgrgid(user.pw_gid).gr_name
    return [
        f"default_internal_user = {user.pw_name}",
        f"default_internal_group = {group}",
        f"default_login_user = {user.pw_name}",
    ]


def _wait_until_listening(process: subprocess.Popen[bytes], server: Dovecot, directory: Path) -> None:
    deadline = time.monotonic() + 20
    waiting = {server.ssl_port, server.starttls_port}
    while waiting:
        if process.poll() is not None or time.monotonic() > deadline:
            output = (directory / "dovecot.out").read_text(errors="replace")
            log = server.log.read_text(errors="replace") if server.log.exists() else ""
            raise RuntimeError(f"dovecot did not start (exit {process.returncode}):\n{output}\n{log}")
        for port in sorted(waiting):
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                waiting.discard(port)
            except OSError:
                time.sleep(0.05)
