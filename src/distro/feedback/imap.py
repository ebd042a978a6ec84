"""``distro bounces fetch``: bounces read from an IMAP mailbox, for a site whose MTA cannot hand them over.

Over TLS only (``bounces.imap_security``: implicit TLS or STARTTLS, never plaintext), the certificate
checked against the system's CAs or ``bounces.imap_ca_file``. Each message of ``bounces.imap_folder``,
oldest first, is read without marking it seen and its exact bytes go to the handler; only once the
handler has returned is it moved to ``bounces.imap_processed_folder`` (created if missing). A handler
that raises leaves its message where it was, unseen, for the next run, and the others go on: one bad
message never blocks the rest, and no message is removed that was not handled.

Moving is ``UID MOVE`` where the server offers it, else ``UID COPY`` and ``\\Deleted``, expunging that
message alone with ``UID EXPUNGE`` (UIDPLUS). Without UIDPLUS the copy stays flagged ``\\Deleted`` for
the server or a mail client to expunge: a plain EXPUNGE would also remove messages someone else marked.
Messages already flagged ``\\Deleted`` are not read.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls
from imap_tools.errors import ImapToolsError, MailboxLoginError, UnexpectedCommandStatusError

from distro.errors import ConfigError
from distro.settings import BouncesSettings

__all__ = ["FetchReport", "MailboxError", "fetch"]

log = logging.getLogger("distro.bounces")
TIMEOUT = 60.0  # seconds for connecting and for each server answer
_PROBLEMS = (OSError, imaplib.IMAP4.error, ImapToolsError)  # OSError includes ssl.SSLError, timeouts


class MailboxError(ConfigError):
    """The bounce mailbox could not be used: unreachable, TLS refused, login refused, folder missing.

    The message names the server and the setting to check, never the password.
    """

    def __init__(self, settings: BouncesSettings, reason: str) -> None:
        self.reason = reason
        super().__init__(f"bounces IMAP {settings.imap_host}:{settings.imap_port}: {reason}")


@dataclass(frozen=True, slots=True)
class FetchReport:
    """What one run did: ``handled`` (and moved), ``failed`` (left unseen in place), ``left`` (over the
    limit, not read this run)."""

    handled: int
    failed: int
    left: int


def fetch(
    handler: Callable[[bytes], None], settings: BouncesSettings, password: str, *, limit: int = 500
) -> FetchReport:
    """Hand on up to ``limit`` messages of ``bounces.imap_folder``, moving each one handled."""
    if not settings.imap_host or not settings.imap_username:
        raise ConfigError("bounces fetch: set bounces.imap_host and bounces.imap_username")
    if settings.imap_processed_folder == settings.imap_folder:
        raise ConfigError("bounces fetch: bounces.imap_processed_folder must differ from imap_folder")
    with _session(settings, password) as mailbox:
        uids = sorted(mailbox.uids("UNDELETED"), key=int)  # UIDs grow with arrival: oldest first
        handled = failed = 0
        for uid in uids[:limit]:
            data = _raw_message(mailbox, uid)
            if data is None:
                continue  # gone meanwhile (another client took it): nothing to hand on
            if _handled(handler, uid, data):
                _move(mailbox, uid, settings)
                handled += 1
            else:
                failed += 1
    return FetchReport(handled=handled, failed=failed, left=max(len(uids) - limit, 0))


@contextmanager
def _session(settings: BouncesSettings, password: str) -> Iterator[BaseMailBox]:
    """A logged-in session with ``imap_folder`` selected and the processed folder there."""
    assert settings.imap_host is not None and settings.imap_username is not None
    context = _tls_context(settings)
    try:
        mailbox = _connect(settings.imap_host, settings.imap_port, settings.imap_security, context)
    except (*_PROBLEMS, ValueError) as exc:  # ValueError: imap-tools refusing STARTTLS on port 993
        raise MailboxError(settings, f"cannot connect: {_describe(exc)}{_hint(exc)}") from None
    step = f"login refused for {settings.imap_username!r}"
    try:
        mailbox.login(settings.imap_username, password, initial_folder=None)
        step = "cannot open the folders"
        _refresh_capabilities(mailbox.client)
        if not mailbox.folder.exists(settings.imap_processed_folder):
            mailbox.folder.create(settings.imap_processed_folder)
        mailbox.folder.set(settings.imap_folder)
        step = f"failed in {settings.imap_folder} (a message in progress stays there for the next run)"
        yield mailbox
    except _PROBLEMS as exc:
        raise MailboxError(settings, f"{step}: {_describe(exc)}{_hint(exc)}") from None
    finally:
        _logout(mailbox)


def _refresh_capabilities(client: imaplib.IMAP4) -> None:
    """Learn what the server offers once logged in (MOVE, UIDPLUS): imaplib keeps the greeting's list."""
    status, items = client.capability()
    _check(status, items, "CAPABILITY")
    client.capabilities = tuple(_text(items).upper().split())


def _tls_context(settings: BouncesSettings) -> ssl.SSLContext:
    """Certificates checked, host name included: the system's CAs, or only ``imap_ca_file``'s."""
    try:
        return ssl.create_default_context(cafile=settings.imap_ca_file)
    except OSError as exc:  # missing, unreadable, or no PEM certificate in it (ssl.SSLError)
        reason = exc.strerror or str(exc)
        raise ConfigError(f"bounces.imap_ca_file {settings.imap_ca_file}: not usable ({reason})") from None


def _connect(host: str, port: int, security: str, context: ssl.SSLContext) -> BaseMailBox:
    if security == "ssl":
        return MailBox(host, port, timeout=TIMEOUT, ssl_context=context)
    return MailBoxStartTls(host, port, timeout=TIMEOUT, ssl_context=context)  # refuses if no STARTTLS


def _handled(handler: Callable[[bytes], None], uid: str, data: bytes) -> bool:
    """Whether the handler took the message; if it raised, the message stays unseen where it is."""
    try:
        handler(data)
    except Exception:
        log.exception("bounces fetch: message UID %s (%d bytes) not handled; left unseen", uid, len(data))
        return False
    return True


def _raw_message(mailbox: BaseMailBox, uid: str) -> bytes | None:
    """The message's exact bytes (``BODY.PEEK[]``: \\Seen is left as it was)."""
    status, items = mailbox.client.uid("FETCH", uid, "(BODY.PEEK[])")
    _check(status, items, "UID FETCH")
    for item in items:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _move(mailbox: BaseMailBox, uid: str, settings: BouncesSettings) -> None:
    client = mailbox.client
    folder = _quoted_folder(settings.imap_processed_folder)
    if "MOVE" in client.capabilities:
        _check(*client.uid("MOVE", uid, folder), "UID MOVE")
        return
    _check(*client.uid("COPY", uid, folder), "UID COPY")
    _check(*client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), "UID STORE")
    if "UIDPLUS" in client.capabilities:
        _check(*client.uid("EXPUNGE", uid), "UID EXPUNGE")


def _quoted_folder(name: str) -> str:
    from imap_tools.utils import encode_folder

    return encode_folder(name).decode()


def _check(status: str, items: list[object], command: str) -> None:
    if status != "OK":
        raise imaplib.IMAP4.error(f"{command} answered {status}: {_text(items)}")


def _describe(exc: BaseException) -> str:
    """One line about ``exc``: the server's answer or the socket's error, never what was sent."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({exc.verify_message})"
    if isinstance(exc, UnexpectedCommandStatusError):
        return _text(exc.command_result[1]) or str(exc.command_result[0])
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _hint(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return " (set bounces.imap_ca_file for a private CA)"
    if isinstance(exc, MailboxLoginError):
        return " (check bounces.imap_username and DISTRO_BOUNCES__IMAP_PASSWORD)"
    if isinstance(exc, OSError):
        return " (check bounces.imap_host, imap_port and imap_security)"
    return ""


def _text(items: object) -> str:
    parts = items if isinstance(items, list | tuple) else [items]
    return " ".join(p.decode(errors="replace") if isinstance(p, bytes) else str(p) for p in parts if p)


def _logout(mailbox: BaseMailBox) -> None:
    with suppress(*_PROBLEMS):  # the connection is gone already: nothing left to close politely
        mailbox.logout()
