"""``distro bounces fetch`` against a real Dovecot (tests/feedback/dovecot.py), over TLS and STARTTLS."""

from __future__ import annotations

import imaplib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from imap_tools import BaseMailBox, MailBox

from distro.errors import ConfigError
from distro.feedback.imap import FetchReport, MailboxError, fetch
from distro.settings import BouncesSettings
from tests.conftest import require
from tests.feedback.dovecot import (
    HOST,
    PASSWORD,
    Dovecot,
    dovecot_binary,
    free_port,
    new_user,
    running_dovecot,
)

PROCESSED = "distro-processed"


def bounce(n: int) -> bytes:
    return (
        f"From: MAILER-DAEMON@mx.example.net\r\nTo: bounces+{n}-0123456789abcdef0123@bounces.example.org\r\n"
        f"Subject: Undelivered Mail Returned to Sender ({n})\r\nMessage-ID: <b{n}@mx.example.net>\r\n\r\n"
        f"550 5.1.1 <reader{n}@example.net>: no such user\r\n"
    ).encode()


def _start(tmp_path_factory: pytest.TempPathFactory, name: str, **options: str) -> Iterator[Dovecot]:
    if dovecot_binary() is None:
        require("dovecot", "install Debian's dovecot-imapd (see .ci/run)")
    with running_dovecot(tmp_path_factory.mktemp(name), **options) as server:
        yield server


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    yield from _start(tmp_path_factory, "dovecot")


@pytest.fixture(scope="module")
def dovecot_without_move(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    """Offering UIDPLUS but not MOVE after login: fetch must copy, flag and expunge one UID."""
    yield from _start(tmp_path_factory, "dovecot-no-move", capabilities="IMAP4rev1 LITERAL+ IDLE UIDPLUS")


def settings_for(server: Dovecot, user: str, security: str = "ssl", **options: object) -> BouncesSettings:
    port = server.ssl_port if security == "ssl" else server.starttls_port
    values: dict[str, object] = {
        "imap_host": HOST,
        "imap_port": port,
        "imap_security": security,
        "imap_username": user,
        "imap_ca_file": server.ca_file,
    }
    return BouncesSettings.model_validate(values | options)


def open_mailbox(server: Dovecot, user: str) -> BaseMailBox:
    context = ssl.create_default_context(cafile=server.ca_file)
    return MailBox(HOST, server.ssl_port, ssl_context=context, timeout=10).login(user, PASSWORD)


def deliver(server: Dovecot, user: str, *messages: bytes, flags: tuple[str, ...] = ()) -> None:
    with open_mailbox(server, user) as mailbox:
        for message in messages:
            mailbox.append(message, "INBOX", flag_set=flags)


def contents(server: Dovecot, user: str, folder: str) -> list[tuple[bytes, tuple[bytes, ...]]]:
    """Each message of ``folder`` (exact bytes and flags), oldest first, read without changing them."""
    with open_mailbox(server, user) as mailbox:
        if not mailbox.folder.exists(folder):
            return []
        mailbox.folder.set(folder, readonly=True)
        found = []
        for uid in sorted(mailbox.uids(), key=int):
            _, items = mailbox.client.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
            head, data = next(item for item in items if isinstance(item, tuple))
            found.append((data, tuple(f for f in imaplib.ParseFlags(head) if f != b"\\Recent")))
        return found


class Recorder:
    """A handler remembering what it was given; it raises for messages containing ``failing``."""

    def __init__(self, failing: bytes | None = None) -> None:
        self.failing = failing
        self.calls: list[bytes] = []

    def __call__(self, data: bytes) -> None:
        self.calls.append(data)
        if self.failing is not None and self.failing in data:
            raise RuntimeError("database down")


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_each_message_is_handed_on_oldest_first_byte_for_byte_then_moved(
    dovecot: Dovecot, security: str
) -> None:
    user = new_user()
    messages = [bounce(1), bounce(2), bounce(3)]
    deliver(dovecot, user, *messages)
    handler = Recorder()

    report = fetch(handler, settings_for(dovecot, user, security), PASSWORD)

    assert report == FetchReport(handled=3, failed=0, left=0)
    assert handler.calls == messages
    assert contents(dovecot, user, "INBOX") == []
    assert contents(dovecot, user, PROCESSED) == [(m, ()) for m in messages]  # created; still unseen


def test_a_message_whose_handler_raises_stays_unseen_and_the_others_still_move(dovecot: Dovecot) -> None:
    user = new_user()
    deliver(dovecot, user, bounce(1), bounce(2), bounce(3))

    report = fetch(Recorder(failing=b"(2)"), settings_for(dovecot, user), PASSWORD)

    assert report == FetchReport(handled=2, failed=1, left=0)
    assert contents(dovecot, user, "INBOX") == [(bounce(2), ())]  # not \Seen
    assert [m for m, _ in contents(dovecot, user, PROCESSED)] == [bounce(1), bounce(3)]
    retry = Recorder()
    assert fetch(retry, settings_for(dovecot, user), PASSWORD) == FetchReport(handled=1, failed=0, left=0)
    assert retry.calls == [bounce(2)]


def test_the_limit_leaves_the_newest_messages_for_the_next_run(dovecot: Dovecot) -> None:
    user = new_user()
    deliver(dovecot, user, bounce(1), bounce(2), bounce(3))
    handler = Recorder()

    report = fetch(handler, settings_for(dovecot, user), PASSWORD, limit=2)

    assert report == FetchReport(handled=2, failed=0, left=1)
    assert handler.calls == [bounce(1), bounce(2)]
    assert contents(dovecot, user, "INBOX") == [(bounce(3), ())]


def test_an_existing_processed_folder_and_other_folder_names_are_used(dovecot: Dovecot) -> None:
    user = new_user()
    with open_mailbox(dovecot, user) as mailbox:
        mailbox.folder.create("Bounces")
        mailbox.folder.create("Bounces done")
        mailbox.append(bounce(1), "Bounces")
    settings = settings_for(dovecot, user, imap_folder="Bounces", imap_processed_folder="Bounces done")

    assert fetch(Recorder(), settings, PASSWORD) == FetchReport(handled=1, failed=0, left=0)
    assert contents(dovecot, user, "Bounces done") == [(bounce(1), ())]


def test_without_move_the_message_is_copied_and_only_its_own_uid_expunged(
    dovecot_without_move: Dovecot,
) -> None:
    server, user = dovecot_without_move, new_user()
    with open_mailbox(server, user) as mailbox:
        assert "MOVE" not in mailbox.client.capability()[1][0].decode().split()
    deliver(server, user, b"Subject: someone else's, to be deleted\r\n\r\nx\r\n", flags=("\\Deleted",))
    deliver(server, user, bounce(1), bounce(2))
    handler = Recorder()

    report = fetch(handler, settings_for(server, user), PASSWORD)

    assert report == FetchReport(handled=2, failed=0, left=0)
    assert handler.calls == [bounce(1), bounce(2)]  # a message already marked \Deleted is not read
    assert contents(server, user, "INBOX") == [
        (b"Subject: someone else's, to be deleted\r\n\r\nx\r\n", (b"\\Deleted",))  # and not expunged
    ]
    assert contents(server, user, PROCESSED) == [(bounce(1), ()), (bounce(2), ())]


def test_a_wrong_password_is_one_clear_line_without_the_password(dovecot: Dovecot) -> None:
    user = new_user()
    deliver(dovecot, user, bounce(1))
    wrong = "not-the-password-9f3e"

    with pytest.raises(MailboxError) as refused:
        fetch(Recorder(), settings_for(dovecot, user), wrong)

    message = str(refused.value)
    assert message.startswith(f"bounces IMAP {HOST}:{dovecot.ssl_port}: login refused for '{user}'")
    assert "DISTRO_BOUNCES__IMAP_PASSWORD" in message
    assert wrong not in message and wrong not in repr(refused.value.__cause__) and "\n" not in message
    assert isinstance(refused.value, ConfigError)
    assert contents(dovecot, user, "INBOX") == [(bounce(1), ())]


@pytest.mark.parametrize("ca", ["system", "another"])
def test_a_server_whose_certificate_is_not_trusted_is_refused(
    dovecot: Dovecot, ca: str, tmp_path: Path
) -> None:
    user = new_user()
    ca_file = None
    if ca == "another":
        ca_file = tmp_path / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(ca_file))
    handler = Recorder()
    deliver(dovecot, user, bounce(1))

    with pytest.raises(MailboxError, match=r"cannot connect: certificate not trusted .*imap_ca_file"):
        fetch(handler, settings_for(dovecot, user, imap_ca_file=ca_file), PASSWORD)
    with pytest.raises(MailboxError, match="certificate not trusted"):
        fetch(handler, settings_for(dovecot, user, "starttls", imap_ca_file=ca_file), PASSWORD)
    assert handler.calls == []


def test_a_server_that_is_not_there_is_a_clear_error() -> None:
    settings = BouncesSettings(imap_host=HOST, imap_port=free_port(), imap_username="bounces")
    with pytest.raises(MailboxError, match=r"cannot connect: Connection refused \(check bounces.imap_host"):
        fetch(Recorder(), settings, PASSWORD)


@pytest.mark.parametrize(
    ("options", "setting"),
    [
        ({"imap_username": "bounces"}, "imap_host"),
        ({"imap_host": HOST}, "imap_username"),
        ({"imap_host": HOST, "imap_username": "b", "imap_processed_folder": "INBOX"}, "processed_folder"),
    ],
)
def test_missing_or_contradictory_settings_are_config_errors(options: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError, match=setting):
        fetch(Recorder(), BouncesSettings.model_validate(options), PASSWORD)


def test_an_unusable_ca_file_names_the_setting(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    for path in (tmp_path / "missing.pem", not_pem):
        settings = BouncesSettings(imap_host=HOST, imap_username="bounces", imap_ca_file=path)
        with pytest.raises(ConfigError, match=rf"bounces.imap_ca_file {path}: not usable"):
            fetch(Recorder(), settings, PASSWORD)
