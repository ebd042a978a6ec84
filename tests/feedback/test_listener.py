"""The bounce listener on loopback, driven by smtplib's LMTP and SMTP clients as an MTA would drive it."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from distro.feedback.listener import TEMPORARY, Listener, serve
from distro.settings import BouncesSettings

HOST = "127.0.0.1"
BOUNCE = (
    b"From: MAILER-DAEMON@mx.example.net\r\n"
    b"To: bounces+1-0123456789abcdef0123@bounces.example.org\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b".a line starting with a dot, and one that is only a dot:\r\n"
    b".\r\n"
    b"550 5.1.1 <reader@example.net>: Recipient address rejected \xe2\x80\x94 no such user\r\n"
)
RCPT = "bounces+1-0123456789abcdef0123@bounces.example.org"


class Recorder:
    """A handler remembering what it was given; it raises for the recipients in ``failing``."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.failing = failing
        self.calls: list[tuple[bytes, str | None]] = []
        self.threads: set[str] = set()

    def __call__(self, data: bytes, rcpt: str | None) -> None:
        self.threads.add(threading.current_thread().name)
        self.calls.append((data, rcpt))
        if rcpt in self.failing:
            raise RuntimeError(f"database down while storing {data[:40]!r}")


@contextmanager
def listening(handler: Recorder, protocol: str = "lmtp", **settings: object) -> Iterator[Listener]:
    config = BouncesSettings(protocol=protocol, **settings)  # type: ignore[arg-type]
    with Listener(handler, config, host=HOST, port=0) as listener:
        yield listener


def connect(listener: Listener, protocol: str = "lmtp") -> smtplib.SMTP:
    """A client that has greeted the listener (LHLO or EHLO)."""
    client = (smtplib.LMTP if protocol == "lmtp" else smtplib.SMTP)(HOST, listener.port, timeout=10)
    client.ehlo_or_helo_if_needed()
    return client


@pytest.mark.parametrize("protocol", ["lmtp", "smtp"])
def test_a_bounce_reaches_the_handler_byte_for_byte_with_its_recipient(protocol: str) -> None:
    handler = Recorder()
    with listening(handler, protocol) as listener:
        client = connect(listener, protocol)
        with client:
            refused = client.sendmail("<>", [RCPT], BOUNCE)
    assert refused == {}
    assert handler.calls == [(BOUNCE, RCPT)]
    assert all(name.startswith("bounces") for name in handler.threads)  # the pool, not the event loop


def test_the_null_sender_is_accepted() -> None:
    handler = Recorder()
    with listening(handler) as listener, connect(listener) as client:
        assert client.docmd("MAIL", "FROM:<>")[0] == 250
        assert client.rcpt(RCPT)[0] == 250
        assert client.data(BOUNCE)[0] == 250
    assert handler.calls == [(BOUNCE, RCPT)]


@pytest.mark.parametrize("protocol", ["lmtp", "smtp"])
def test_a_handler_that_raises_is_a_temporary_failure_naming_nothing_of_the_error(
    protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Recorder(failing=frozenset({RCPT}))
    with listening(handler, protocol) as listener:
        client = connect(listener, protocol)
        with client, pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("<>", [RCPT], BOUNCE)
    code, text = refused.value.smtp_code, refused.value.smtp_error
    assert isinstance(text, bytes)
    assert 400 <= code < 500, "temporary: the MTA keeps the bounce and retries"
    assert f"{code} {text.decode()}" == TEMPORARY
    assert b"database" not in text and b"MAILER" not in text
    assert handler.calls == [(BOUNCE, RCPT)]
    failure = next(r for r in caplog.records if r.name == "distro.bounces" and r.exc_info)
    assert RCPT in failure.getMessage()


def test_lmtp_answers_each_recipient_and_calls_the_handler_once_for_each() -> None:
    other = "bounces+2-fedcba9876543210fedc@bounces.example.org"
    handler = Recorder(failing=frozenset({other}))
    with listening(handler) as listener, connect(listener) as client:
        client.mail("<>")
        client.rcpt(RCPT)
        client.rcpt(other)
        first = client.data(BOUNCE)
        second = client.getreply()  # smtplib reads one reply after DATA; LMTP sends one per recipient
        assert client.noop()[0] == 250  # and nothing else is left unread
    assert first[0] == 250
    assert second == (451, TEMPORARY.removeprefix("451 ").encode())
    assert handler.calls == [(BOUNCE, RCPT), (BOUNCE, other)]


def test_smtp_with_two_recipients_calls_the_handler_twice_and_answers_once() -> None:
    other = "bounces+2-fedcba9876543210fedc@bounces.example.org"
    handler = Recorder()
    with listening(handler, "smtp") as listener, connect(listener, "smtp") as client:
        assert client.sendmail("<>", [RCPT, other], BOUNCE) == {}
        assert client.noop()[0] == 250
    assert handler.calls == [(BOUNCE, RCPT), (BOUNCE, other)]


@pytest.mark.parametrize("protocol", ["lmtp", "smtp"])
def test_a_message_over_max_message_bytes_is_refused_with_552(protocol: str) -> None:
    handler = Recorder()
    big = BOUNCE + (b"x" * 998 + b"\r\n") * 11  # the smallest limit allowed is 10,000 bytes
    with listening(handler, protocol, max_message_bytes=10_000) as listener:
        client = connect(listener, protocol)
        with client:
            client.mail("<>")  # no SIZE announced: the size is only known once DATA is read
            client.rcpt(RCPT)
            code, _ = client.data(big)
            assert code == 552
            assert client.sendmail("<>", [RCPT], BOUNCE) == {}  # the connection is still usable
    assert handler.calls == [(BOUNCE, RCPT)]


def test_an_announced_size_over_the_limit_is_refused_at_mail_from() -> None:
    handler = Recorder()
    with listening(handler, max_message_bytes=10_000) as listener, connect(listener) as client:
        assert client.has_extn("size")
        assert client.mail("<>", ["SIZE=20000"])[0] == 552
    assert handler.calls == []


def test_lmtp_refuses_an_oversized_message_once_per_recipient() -> None:
    other = "bounces+2-fedcba9876543210fedc@bounces.example.org"
    handler = Recorder()
    big = b"x" * 998 + b"\r\n"
    with listening(handler, max_message_bytes=10_000) as listener, connect(listener) as client:
        client.mail("<>")
        client.rcpt(RCPT)
        client.rcpt(other)
        assert client.data(big * 11)[0] == 552
        assert client.getreply()[0] == 552
        assert client.noop()[0] == 250
    assert handler.calls == []


def test_serve_reports_where_it_listens_and_returns_once_stopped() -> None:
    handler = Recorder()
    stop = threading.Event()
    bound: list[tuple[str, int]] = []
    ready = threading.Event()

    def on_ready(host: str, port: int) -> None:
        bound.append((host, port))
        ready.set()

    settings = BouncesSettings(listen_host=HOST, listen_port=_free_port())
    thread = threading.Thread(
        target=serve, args=(handler, settings), kwargs={"ready": on_ready, "stop": stop}
    )
    thread.start()
    try:
        assert ready.wait(10)
        assert bound == [(HOST, settings.listen_port)]
        with smtplib.LMTP(HOST, settings.listen_port, timeout=10) as client:
            assert client.sendmail("<>", [RCPT], BOUNCE) == {}
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert handler.calls == [(BOUNCE, RCPT)]


def test_a_port_in_use_is_a_config_error_naming_the_setting() -> None:
    from distro.errors import ConfigError

    with listening(Recorder()) as taken:
        settings = BouncesSettings(listen_host=HOST, listen_port=taken.port)
        with pytest.raises(ConfigError, match=r"bounces\.listen_port"):
            Listener(Recorder(), settings).start()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])
