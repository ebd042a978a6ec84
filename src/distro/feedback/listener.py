"""``distro bounces serve``: the listener an MTA hands the bounce domain's mail to, over LMTP or SMTP.

It only receives: each message's exact bytes go to a :data:`Handler` with the envelope recipient (the VERP
address naming the delivery); reading the bounce is the handler's business. The reply tells the MTA
what became of the message, so a bounce is never lost:

- the handler returned: ``250``, the MTA forgets the message;
- the handler raised: ``451 4.3.0``, a temporary failure, so the MTA keeps the message and retries (a
  message handled twice is counted once by the service, which knows each report's id). The reply names
  no detail of the error, which may quote the message; the log has it;
- more than ``bounces.max_message_bytes``: ``552``, at MAIL FROM when the MTA announces the size, else
  after DATA.

LMTP (RFC 2033) answers each recipient after DATA, so one failure retries that recipient only. SMTP has
one answer per message: if any recipient's handler raised, the whole message is retried.

Any MAIL FROM is accepted: bounces come from the null sender ``<>``. Handlers run in a thread pool, so a
slow database does not stall other connections; on stop the handlers in progress finish.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AnyStr

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from distro.errors import ConfigError
from distro.settings import BouncesSettings

__all__ = ["ACCEPTED", "TEMPORARY", "TOO_BIG", "Handler", "Listener", "serve"]

Handler = Callable[[bytes, str | None], None]
"""Called with a message's bytes (as sent, after dot-unstuffing) and its envelope recipient."""

log = logging.getLogger("distro.bounces")

ACCEPTED = "250 2.0.0 OK"
TEMPORARY = "451 4.3.0 Bounce not stored, try again later"
TOO_BIG = "552 5.3.4 Message too big for the bounce listener"
# aiosmtpd's own replies once DATA has been read in full, answered once per recipient under LMTP.
_AFTER_DATA = {
    "552 Error: Too much mail data": TOO_BIG,
    "500 Line too long (see RFC5321 4.5.3.1.6)": "500 5.5.2 Line too long",
}


class _Receiver:
    """aiosmtpd's handler: hands each message on, once per recipient, from the thread pool."""

    def __init__(self, handler: Handler, executor: ThreadPoolExecutor) -> None:
        self.handler = handler
        self.executor = executor

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = bytes(envelope.original_content or b"")
        replies = [await self._hand_on(data, rcpt) for rcpt in envelope.rcpt_tos]
        if isinstance(server, LMTP):
            return "\r\n".join(replies)  # one reply line per recipient, in RCPT order
        return next((reply for reply in replies if reply != ACCEPTED), ACCEPTED)

    async def _hand_on(self, data: bytes, rcpt: str) -> str:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.executor, self.handler, data, rcpt)
        except Exception:
            log.exception("bounce for %s (%d bytes) not stored; the MTA will retry it", rcpt, len(data))
            return TEMPORARY
        log.info("bounce for %s (%d bytes) handed on", rcpt, len(data))
        return ACCEPTED

    async def handle_exception(self, error: Exception) -> str:
        """A failure of the listener itself: logged, answered without its text (aiosmtpd would quote it)."""
        log.error("bounces: the listener failed", exc_info=error)
        return TEMPORARY


class _Protocol(SMTP):
    """aiosmtpd's SMTP with enhanced status codes in its after-DATA refusals."""

    async def push(self, status: AnyStr) -> None:
        reply = _AFTER_DATA.get(status) if isinstance(status, str) else None
        if reply is None:
            await super().push(status)
            return
        count = len(self.envelope.rcpt_tos) if isinstance(self, LMTP) and self.envelope else 1
        await super().push("\r\n".join([reply] * max(count, 1)))


class _LmtpProtocol(_Protocol, LMTP):
    """LMTP, refusing an oversized message once per recipient as RFC 2033 requires (aiosmtpd: once)."""


class _Controller(Controller):
    """aiosmtpd's threaded server on a socket bound beforehand (so a port in use fails at once)."""

    def __init__(self, receiver: _Receiver, settings: BouncesSettings, sock: socket.socket) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(
            receiver,
            hostname=host,
            port=port,
            server_hostname=socket.gethostname(),  # not getfqdn(): no DNS lookup per connection
            ident="distro bounces",
            data_size_limit=settings.max_message_bytes,
        )
        self.sock = sock
        self.protocol_class = _LmtpProtocol if settings.protocol == "lmtp" else _Protocol

    def factory(self) -> SMTP:
        return self.protocol_class(self.handler, **self.SMTP_kwargs)

    def _create_server(self) -> Coroutine[Any, Any, asyncio.Server]:
        return self.loop.create_server(self._factory_invoker, sock=self.sock)


class Listener:
    """The listener, serving from a thread of its own while it is open::

        with Listener(handler, settings, port=0) as listener:
            ...  # an MTA (or smtplib.LMTP) connects to listener.host, listener.port

    ``host``/``port`` default to ``bounces.listen_host``/``listen_port``; port 0 picks a free one.
    """

    def __init__(
        self, handler: Handler, settings: BouncesSettings, *, host: str | None = None, port: int | None = None
    ) -> None:
        self.host = settings.listen_host if host is None else host
        self.port = settings.listen_port if port is None else port
        self._handler = handler
        self._settings = settings
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bounces")
        self._controller: _Controller | None = None

    def start(self) -> Listener:
        """Bind and serve; a ConfigError names the setting if the address cannot be listened on."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            sock = socket.create_server((self.host, self.port), family=family)
        except OSError as exc:
            raise ConfigError(
                f"bounces: cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
                " (set bounces.listen_host, bounces.listen_port)"
            ) from exc
        self.port = int(sock.getsockname()[1])  # the one picked, when asked for port 0
        controller = _Controller(_Receiver(self._handler, self._executor), self._settings, sock)
        try:
            controller.start()
        except BaseException:
            sock.close()
            raise
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening and cut open connections; handlers already called finish first."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self._executor.shutdown(wait=True)

    def __enter__(self) -> Listener:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve(
    handler: Handler,
    settings: BouncesSettings,
    *,
    ready: Callable[[str, int], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Listen until ``stop`` is set (the CLI sets it on SIGTERM/SIGINT); ``ready(host, port)`` once bound."""
    stop = stop or threading.Event()
    with Listener(handler, settings) as listener:
        protocol = settings.protocol.upper()
        log.info("bounces: listening for %s on %s:%d", protocol, listener.host, listener.port)
        if ready is not None:
            ready(listener.host, listener.port)
        while not stop.wait(1.0):  # a timeout, so a signal handler in this thread is run promptly
            pass
