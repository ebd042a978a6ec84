"""A real SMTP server on loopback for tests: records what it accepts and misbehaves on request.

Built on aiosmtpd's threaded ``Controller``, bound to 127.0.0.1 on a free port. It can answer a chosen
reply to MAIL per sender, to RCPT or to the end of DATA per recipient (``"550 5.1.1 No such user"``,
``"451 4.3.0 Try again"``); a ``421`` reply is sent and the connection closed, as real servers do;
:data:`DROP` closes the connection without answering. It offers STARTTLS or implicit TLS with a trustme
certificate, and AUTH for one user.
With ``pipelining=True`` it advertises PIPELINING (RFC 2920; aiosmtpd reads commands line by line, so it
already handles them) and counts transactions whose DATA command had arrived before RCPT was answered:
proof that the client really pipelined.

Use it as a context manager or through the fixtures (import them into a test module, or list this module
in ``pytest_plugins`` of the root conftest)::

    with running_smtp_server(rcpt_replies={"bounce@example.org": "550 5.1.1 No such user"}) as server:
        ...  # connect to server.host, server.port; then inspect server.messages, server.connections
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
DROP = "drop"
"""A reply value meaning: close the connection without answering."""


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes  # the DATA payload after dot-unstuffing: exactly what the client meant to send
    connection: int  # 1-based number of the connection it arrived on
    login: str | None  # the AUTH user of that connection, if any
    tls: bool  # whether that connection was encrypted
    queue_id: str | None  # the id given in the 250 reply, if ``queue_ids`` is on


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """A test CA, a server context with its certificate for 127.0.0.1 and localhost, a client trusting it."""

    ca: trustme.CA
    server_context: ssl.SSLContext
    client_context: ssl.SSLContext


def make_tls() -> TlsMaterial:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST, "localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    return TlsMaterial(ca, server_context, client_context)


def unused_port() -> int:
    """A loopback port nobody listens on (bound, then released), for "connection refused" tests."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class FakeSmtpServer:
    """One running server. All recorded state is guarded by a lock: the server runs in its own thread."""

    def __init__(
        self,
        *,
        mail_replies: Mapping[str, str] | None = None,
        rcpt_replies: Mapping[str, str] | None = None,
        data_replies: Mapping[str, str] | None = None,
        tls: TlsMaterial | None = None,
        tls_mode: Literal["starttls", "implicit"] = "starttls",
        require_starttls: bool = False,
        credentials: tuple[str, str] | None = None,
        queue_ids: bool = True,
        idle_timeout: float = 300.0,
        pipelining: bool = False,
    ) -> None:
        self.mail_replies = dict(mail_replies or {})
        self.rcpt_replies = dict(rcpt_replies or {})
        self.data_replies = dict(data_replies or {})
        self.credentials = credentials
        self.queue_ids = queue_ids
        self.pipelining = pipelining
        self.implicit_tls = tls is not None and tls_mode == "implicit"
        self._lock = threading.Lock()
        self._messages: list[ReceivedMessage] = []
        self._connections = 0
        self._counts = {"RSET": 0, "QUIT": 0, "PIPELINED": 0}
        self._queue_numbers = itertools.count(1)
        options: dict[str, Any] = {"timeout": idle_timeout}
        if tls is not None and tls_mode == "starttls":
            options.update(tls_context=tls.server_context, require_starttls=require_starttls)
        if tls is not None and tls_mode == "implicit":
            options["ssl_context"] = tls.server_context
        if credentials is not None:
            # aiosmtpd only counts STARTTLS as TLS for AUTH; implicit TLS is lifted in _RecordingSMTP.
            options.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=True)
        self._controller = _Controller(self, _Handler(self), **options)

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    @property
    def connections(self) -> int:
        """Connections that reached the greeting (the Controller's own start-up probe excluded)."""
        with self._lock:
            return self._connections

    def count(self, command: Literal["RSET", "QUIT", "PIPELINED"]) -> int:
        with self._lock:
            return self._counts[command]

    def start(self) -> FakeSmtpServer:
        self._controller.start()
        with self._lock:
            self._connections = 0  # forget Controller.start()'s probe connection
        return self

    def stop(self) -> None:
        """Stop listening and cut open connections; stopping twice is fine."""
        if self._controller._thread is not None:
            self._controller.stop()

    def __enter__(self) -> FakeSmtpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- called from the server thread -----------------------------------------------------------

    def _connected(self) -> int:
        with self._lock:
            self._connections += 1
            return self._connections

    def _saw(self, command: str) -> None:
        with self._lock:
            self._counts[command] += 1

    def _record(self, smtp: _RecordingSMTP, envelope: Envelope) -> str | None:
        queue_id = f"Q{next(self._queue_numbers):05d}" if self.queue_ids else None
        message = ReceivedMessage(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=bytes(envelope.original_content or b""),
            connection=smtp.connection_number,
            login=_login_of(smtp.session),
            tls=smtp.transport is not None and smtp.transport.get_extra_info("ssl_object") is not None,
            queue_id=queue_id,
        )
        with self._lock:
            self._messages.append(message)
        return queue_id

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self.credentials == (
            auth_data.login.decode(),
            auth_data.password.decode(),
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def _login_of(session: Session | None) -> str | None:
    auth_data = session.auth_data if session is not None else None
    return auth_data.login.decode() if isinstance(auth_data, LoginPassword) else None


def _answer(smtp: SMTP, reply: str) -> str:
    """Return ``reply``, closing the connection after a 421 and instead of answering for DROP."""
    assert smtp.transport is not None
    if reply == DROP:
        smtp.transport.close()  # whatever is returned below is never written
    elif reply.startswith("421"):
        # Runs after aiosmtpd writes the reply (no await between this hook and its write).
        smtp.loop.call_soon(smtp.transport.close)
    return reply


class _Handler:
    def __init__(self, owner: FakeSmtpServer) -> None:
        self.owner = owner

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # aiosmtpd leaves this to the hook once a handler has one
        if self.owner.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.owner.mail_replies.get(address)
        if reply is not None:
            return _answer(server, reply)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if server._reader is not None and b"DATA" in bytes(server._reader._buffer):  # type: ignore[attr-defined]
            self.owner._saw("PIPELINED")  # the client sent DATA before this RCPT was answered
        reply = self.owner.rcpt_replies.get(address)
        if reply is not None:
            return _answer(server, reply)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for rcpt in envelope.rcpt_tos:
            if rcpt in self.owner.data_replies:
                return _answer(server, self.owner.data_replies[rcpt])
        assert isinstance(server, _RecordingSMTP)
        queue_id = self.owner._record(server, envelope)
        return f"250 2.0.0 Ok: queued as {queue_id}" if queue_id else "250 OK"

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.owner._saw("RSET")
        return "250 OK"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.owner._saw("QUIT")
        return "221 Bye"


class _RecordingSMTP(SMTP):
    """aiosmtpd's protocol (one instance per connection), numbering its connection."""

    def __init__(self, owner: FakeSmtpServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.connection_number = 0
        if owner.implicit_tls:
            self._auth_require_tls = False  # the whole connection is TLS already

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        fresh = self._original_transport is None  # STARTTLS calls this again on the same connection
        super().connection_made(transport)
        if fresh:
            self.connection_number = self.owner._connected()


class _Controller(Controller):
    def __init__(self, owner: FakeSmtpServer, handler: _Handler, **options: Any) -> None:
        # server_hostname avoids a DNS lookup (socket.getfqdn) per connection.
        super().__init__(handler, hostname=HOST, port=0, server_hostname="localhost", **options)
        self.owner = owner

    def factory(self) -> SMTP:
        return _RecordingSMTP(self.owner, self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        # Bound to port 0: learn the real port before Controller probes it.
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


@contextmanager
def running_smtp_server(**options: Any) -> Iterator[FakeSmtpServer]:
    """Start a :class:`FakeSmtpServer` with ``options`` for the ``with`` block."""
    with FakeSmtpServer(**options) as server:
        yield server


@pytest.fixture(scope="session")
def smtp_tls() -> TlsMaterial:
    return make_tls()


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., FakeSmtpServer]]:
    """Factory: ``smtp_server(**options)`` starts a server that is stopped after the test."""
    started: list[FakeSmtpServer] = []

    def start(**options: Any) -> FakeSmtpServer:
        server = FakeSmtpServer(**options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
