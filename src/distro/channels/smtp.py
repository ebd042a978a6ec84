"""Email over SMTP: one connection reused across a batch, every reply mapped onto the delivery error tree.

What callers may rely on:

- The connection opens on the first ``send``, is reused, and is recycled (QUIT, reconnect) after
  ``messages_per_connection`` messages. After a 421, a dropped connection or a timeout it is discarded and
  the next ``send`` reconnects by itself. After a refused sender, recipient or message the transaction is
  reset (RSET) so the same connection carries on.
- 2xx -> :class:`Receipt` whose ``provider_id`` is the server's queue id ("queued as X", "id=X"), or the
  whole reply when the server gives none. 4xx (or an enhanced 4.x.x status), timeouts and network errors
  -> ``TemporaryFailure``; a 5xx to RCPT TO -> ``RecipientRejected`` (a hard bounce); any other 5xx ->
  ``PermanentFailure``; each carries the code and the server's text.
- Fast path: when the server offers PIPELINING (RFC 2920), MAIL FROM, RCPT TO and DATA go out in one write
  and their three replies are read together; the message is dot-stuffed with one ``bytes.replace`` (no
  per-message regex unless the data breaks the CRLF contract of :class:`EmailOut`). Servers without
  PIPELINING, and non-ASCII addresses (SMTPUTF8), take smtplib's ``sendmail`` path with the same outcomes.
- Problems only the operator can fix raise ``ChannelFailure``: a rejected login (535), a certificate that
  does not verify (verification is on unless the caller injects another context), a server without
  STARTTLS or AUTH. The dispatcher then pauses the channel and keeps every message queued, instead of
  failing the list one subscriber at a time.
- No message or log line contains the password; server text is scrubbed of it as well.

Not thread-safe: use one channel per worker.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
import time
from typing import TYPE_CHECKING

from distro.channels.base import EmailOut, Receipt
from distro.errors import (
    ChannelFailure,
    DeliveryError,
    PermanentFailure,
    RecipientRejected,
    TemporaryFailure,
)
from distro.settings import SmtpSettings

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger(__name__)

# Postfix/Sendmail "queued as 4Xyz", Exim "id=1abc-00", both possibly in angle brackets.
_QUEUE_ID = re.compile(r"queued as\s+<?([^\s<>]+)|\bid=<?([^\s<>]+)", re.IGNORECASE)
_ENHANCED_TEMPORARY = re.compile(rb"\s*4\.\d{1,3}\.\d{1,3}\b")
_BARE_EOL = re.compile(rb"\r\n|\n|\r(?!\n)")  # smtplib's line-ending fix, for data that needs it
_BAD_IN_ADDRESS = re.compile(r"[\s<>\x00-\x1f\x7f]")
Reply = tuple[int, bytes]


class _Smtp(smtplib.SMTP):
    """``smtplib.SMTP`` that keeps the reply to the end of DATA, which ``sendmail`` drops: it holds the
    queue id."""

    data_reply: tuple[int, bytes] = (0, b"")

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        self.data_reply = super().data(msg)
        return self.data_reply


class _SmtpSsl(_Smtp, smtplib.SMTP_SSL):
    """Implicit TLS (port 465) with the same DATA reply capture."""


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(f"{code} {text}".split())


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _crlf(data: bytes) -> bytes:
    """``data`` with every line ending CRLF; the regex runs only when a bare CR or LF is present."""
    crlf = data.count(b"\r\n")
    if data.count(b"\n") != crlf or data.count(b"\r") != crlf:
        return _BARE_EOL.sub(b"\r\n", data)
    return data


def wire_data(data: bytes) -> bytes:
    """The DATA payload for ``data`` (CRLF, not dot-stuffed): dot-stuffed and ended by ``CRLF.CRLF``.

    One ``bytes.replace`` does the stuffing; the CRLF regex runs only if the data has a bare CR or LF.
    """
    stuffed = _crlf(data).replace(b"\r\n.", b"\r\n..")
    lead = b"." if stuffed.startswith(b".") else b""
    end = b".\r\n" if stuffed.endswith(b"\r\n") or not stuffed else b"\r\n.\r\n"
    return b"".join((lead, stuffed, end))


def _temporary(code: int, text: bytes | str) -> bool:
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return 400 <= code < 500 or _ENHANCED_TEMPORARY.match(raw) is not None


def _receipt(code: int, text: bytes) -> Receipt:
    reply = _reply(code, text)
    found = _QUEUE_ID.search(reply)
    provider_id = (found.group(1) or found.group(2)) if found else reply
    return Receipt(provider_id=provider_id, detail=reply)


class SmtpChannel:
    """Sends :class:`EmailOut` messages through one SMTP server (settings ``[smtp]``)."""

    name = "email"
    # A connection idle longer than this is checked with NOOP before reuse: servers drop idle clients
    # (Postfix after 300 s), and a message should not fail only because the batch paused.
    idle_probe_after = 10.0

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self._settings = settings
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._local_hostname = local_hostname
        self._where = f"{settings.host}:{settings.port}"
        self._conn: _Smtp | None = None
        self._sent_on_conn = 0
        self._last_used = 0.0

    def send(self, message: EmailOut) -> Receipt:
        for role, address in (("sender", message.sender), ("recipient", message.recipient)):
            if _BAD_IN_ADDRESS.search(address):  # would smuggle commands or arguments onto the wire
                raise PermanentFailure(
                    f"SMTP {self._where}: {role} address {address!r} is not a plain address"
                )
        conn = self._connection()
        if conn.has_extn("pipelining") and (message.sender + message.recipient).isascii():
            receipt = self._send_pipelined(conn, message)
        else:
            receipt = self._send_smtplib(conn, message)
        self._sent_on_conn += 1
        self._last_used = time.monotonic()
        if self._sent_on_conn >= self._settings.messages_per_connection:
            self.close()
        return receipt

    def _send_pipelined(self, conn: _Smtp, message: EmailOut) -> Receipt:
        """MAIL, RCPT and DATA in one write (RFC 2920), then the message; the same outcomes as smtplib."""
        sender, rcpt = message.sender, message.recipient
        envelope = f"MAIL FROM:<{sender}>\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n".encode("ascii")
        try:
            assert conn.sock is not None  # _connection() returns live connections only
            conn.sock.sendall(envelope)
            replies: list[Reply] = []
            for _ in range(3):  # stop early on 421: the server closes the connection after it
                replies.append(conn.getreply())
                if replies[-1][0] == 421:
                    break
            final: Reply | None = None
            if replies[-1][0] == 354:
                accepted = replies[0][0] == 250 and replies[1][0] in (250, 251)
                # A server that says 354 after refusing the envelope gets an empty message to end DATA.
                conn.sock.sendall(wire_data(message.data) if accepted else b".\r\n")
                final = conn.getreply()
        except (smtplib.SMTPException, OSError) as exc:  # disconnect, reset, timeout
            self._discard()
            raise TemporaryFailure(
                self._scrub(f"SMTP {self._where} connection lost while sending to {rcpt}: {_describe(exc)}")
            ) from exc
        mail, rcpt_reply, data = (replies + [(-1, b"no reply")] * 3)[:3]
        if mail[0] != 250:
            raise self._refused(f"refused sender {sender}", *mail)
        if rcpt_reply[0] not in (250, 251):
            raise self._refused(f"refused recipient {rcpt}", *rcpt_reply, permanent=RecipientRejected)
        if data[0] != 354 or final is None:
            raise self._refused(f"refused the message to {rcpt}", *data)
        if not 200 <= final[0] < 300:
            raise self._refused(f"refused the message to {rcpt}", *final)
        return _receipt(*final)

    def _send_smtplib(self, conn: _Smtp, message: EmailOut) -> Receipt:
        rcpt = message.recipient
        # Non-ASCII addresses need SMTPUTF8; smtplib refuses (SMTPNotSupportedError) if the server lacks it.
        options = [] if (message.sender + rcpt).isascii() else ["SMTPUTF8"]
        try:
            refused = conn.sendmail(message.sender, [rcpt], _crlf(message.data), mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(rcpt, (-1, b"no reply"))
            raise self._refused(f"refused recipient {rcpt}", code, text, permanent=RecipientRejected) from exc
        except smtplib.SMTPSenderRefused as exc:
            raise self._refused(f"refused sender {message.sender}", exc.smtp_code, exc.smtp_error) from exc
        except smtplib.SMTPResponseException as exc:  # SMTPDataError: DATA or the message itself refused
            raise self._refused(f"refused the message to {rcpt}", exc.smtp_code, exc.smtp_error) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentFailure(self._scrub(f"SMTP {self._where} cannot send to {rcpt}: {exc}")) from exc
        except (smtplib.SMTPException, OSError) as exc:  # disconnect, reset, timeout
            self._discard()
            raise TemporaryFailure(
                self._scrub(f"SMTP {self._where} connection lost while sending to {rcpt}: {_describe(exc)}")
            ) from exc
        if refused:  # cannot happen with one recipient, but never report a refusal as success
            code, text = refused[rcpt]
            raise self._refused(f"refused recipient {rcpt}", code, text, permanent=RecipientRejected)
        return _receipt(*conn.data_reply)

    def close(self) -> None:
        """QUIT politely if connected; never raises (the message outcomes are already decided)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except Exception:  # noqa: BLE001 - closing must not turn a delivered batch into an error
            log.debug("SMTP %s: QUIT failed, closing the socket", self._where, exc_info=True)
        finally:
            conn.close()

    # -- connection ------------------------------------------------------------------------------

    def _connection(self) -> _Smtp:
        conn = self._conn
        if conn is not None and (conn.sock is None or not self._still_alive(conn)):
            self._discard()
        if self._conn is None:
            self._conn = self._connect()
            self._sent_on_conn = 0
            self._last_used = time.monotonic()
        return self._conn

    def _still_alive(self, conn: _Smtp) -> bool:
        if time.monotonic() - self._last_used < self.idle_probe_after:
            return True
        try:
            return conn.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            return False

    def _connect(self) -> _Smtp:
        s = self._settings
        try:
            if s.security == "ssl":
                conn: _Smtp = _SmtpSsl(
                    s.host, s.port, self._local_hostname, timeout=s.timeout, context=self._ssl_context
                )
            else:
                conn = _Smtp(s.host, s.port, self._local_hostname, timeout=s.timeout)
            try:
                if s.security == "starttls":
                    conn.ehlo()
                    conn.starttls(context=self._ssl_context)
                    conn.ehlo()
                if s.username:
                    password = s.password.get_secret_value() if s.password else ""
                    conn.login(s.username, password)
                conn.ehlo_or_helo_if_needed()  # learn the extensions (PIPELINING) before the first send
                # Every write is a whole command group or message: Nagle would only delay its last segment.
                if conn.sock is not None:
                    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except BaseException:
                conn.close()
                raise
        except OSError as exc:  # smtplib and ssl errors are OSErrors too
            raise self._connect_failure(exc) from exc
        log.debug("SMTP %s: connected (%s)", self._where, s.security)
        return conn

    def _connect_failure(self, exc: OSError) -> DeliveryError:
        where = f"SMTP server {self._where}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            why = f"{where}: TLS certificate not trusted ({exc.verify_message}); fix the server certificate"
            return ChannelFailure(why + " or the CA the channel trusts")
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            reply = _reply(exc.smtp_code, exc.smtp_error)
            return ChannelFailure(
                self._scrub(
                    f"{where} refused the login for user {self._settings.username!r}: {reply}; "
                    "check smtp.username and DISTRO_SMTP__PASSWORD"
                )
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            kind = TemporaryFailure if 400 <= exc.smtp_code < 500 else PermanentFailure
            return kind(self._scrub(f"{where} refused the session: {_reply(exc.smtp_code, exc.smtp_error)}"))
        if isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(exc, smtplib.SMTPException):
            hint = "; check smtp.security and smtp.port" if isinstance(exc, ssl.SSLError) else ""
            return TemporaryFailure(self._scrub(f"cannot connect to {where}: {_describe(exc)}{hint}"))
        # STARTTLS or AUTH not offered, no usable AUTH mechanism: the settings do not match the server.
        return ChannelFailure(self._scrub(f"{where}: {exc}; check smtp.security and smtp.username"))

    def _refused(
        self, what: str, code: int, text: bytes | str, *, permanent: type[PermanentFailure] = PermanentFailure
    ) -> DeliveryError:
        """Map a refusal; keep the connection usable (RSET) unless the server is going away (421)."""
        reason = self._scrub(f"SMTP {self._where} {what}: {_reply(code, text)}")
        if code == 421 or not 400 <= code < 600:
            self._discard()
            return TemporaryFailure(reason)
        self._reset()
        return TemporaryFailure(reason) if _temporary(code, text) else permanent(reason)

    def _reset(self) -> None:
        # smtplib resets after some refusals but not all (not when DATA itself is refused); RSET is cheap.
        conn = self._conn
        if conn is None or conn.sock is None:
            self._discard()
            return
        try:
            if conn.rset()[0] != 250:
                self._discard()
        except (smtplib.SMTPException, OSError):
            self._discard()

    def _discard(self) -> None:
        """Drop the connection without QUIT (it is broken or the server is closing it)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _scrub(self, text: str) -> str:
        secret = self._settings.password.get_secret_value() if self._settings.password else ""
        return text.replace(secret, "***") if secret else text
