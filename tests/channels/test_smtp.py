"""SmtpChannel against a real aiosmtpd server on loopback: what arrives, how each refusal is classified.

Every test runs twice: against a server without PIPELINING (smtplib's path) and with it (the fast path)."""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterator

import pytest

from distro.channels.base import EmailOut
from distro.channels.smtp import SmtpChannel, wire_data
from distro.errors import ChannelFailure, PermanentFailure, RecipientRejected, TemporaryFailure
from distro.settings import SmtpSettings
from tests.fakes import smtp_server as fake
from tests.fakes.smtp_server import DROP, FakeSmtpServer, TlsMaterial, unused_port

smtp_tls = fake.smtp_tls  # a fixture, bound here so pytest finds it in this module

StartServer = Callable[..., FakeSmtpServer]
MakeChannel = Callable[..., SmtpChannel]
USER, PASSWORD = "mailer", "s3cret-Pa55word"


def email(recipient: str = "reader@example.org", body: str = "Hello.\r\n", key: str = "k") -> EmailOut:
    data = (
        f"From: Digest <digest@example.com>\r\nTo: <{recipient}>\r\nSubject: Weekly\r\n"
        f"Message-ID: <{key}@example.com>\r\n\r\n{body}"
    ).encode()
    return EmailOut(key=key, sender="digest@example.com", recipient=recipient, data=data)


@pytest.fixture(params=[False, True], ids=["smtplib", "pipelined"])
def pipelining(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def smtp_server(pipelining: bool) -> Iterator[StartServer]:
    """Factory: ``smtp_server(**options)`` starts a server (with PIPELINING or not) stopped after the test."""
    started: list[FakeSmtpServer] = []

    def start(**options: object) -> FakeSmtpServer:
        options.setdefault("pipelining", pipelining)
        server = FakeSmtpServer(**options).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def channels() -> Iterator[Callable[..., SmtpChannel]]:
    """Factory for channels pointed at a server; every channel is closed after the test."""
    made: list[SmtpChannel] = []

    def make(
        server: FakeSmtpServer | None = None, *, ssl_context: ssl.SSLContext | None = None, **settings: object
    ) -> SmtpChannel:
        values: dict[str, object] = {"security": "none", "timeout": 2.0}
        if server is not None:
            values.update(host=server.host, port=server.port)
        values.update(settings)
        channel = SmtpChannel(
            SmtpSettings.model_validate(values), ssl_context=ssl_context, local_hostname="client.test"
        )
        made.append(channel)
        return channel

    yield make
    for channel in made:
        channel.close()


def test_batch_is_sent_on_one_connection_with_the_exact_bytes(
    smtp_server: StartServer, channels: MakeChannel
) -> None:
    server = smtp_server()
    channel = channels(server)
    sent = [email(f"r{i}@example.org", body=f"Story {i}\r\n", key=f"k{i}") for i in range(3)]

    receipts = [channel.send(message) for message in sent]

    received = server.messages
    assert server.connections == 1
    assert [m.data for m in received] == [m.data for m in sent]
    assert [(m.mail_from, m.rcpt_tos) for m in received] == [
        ("digest@example.com", (f"r{i}@example.org",)) for i in range(3)
    ]
    assert [r.provider_id for r in receipts] == [m.queue_id for m in received]
    assert receipts[0].detail.startswith("250 2.0.0 Ok: queued as ")


def test_receipt_falls_back_to_the_reply_text_without_a_queue_id(
    smtp_server: StartServer, channels: MakeChannel
) -> None:
    server = smtp_server(queue_ids=False)

    receipt = channels(server).send(email())

    assert receipt.provider_id == "250 OK"


def test_lines_starting_with_a_dot_arrive_intact(smtp_server: StartServer, channels: MakeChannel) -> None:
    server = smtp_server()
    body = ".\r\n..\r\n.hidden line\r\nmiddle\r\n. \r\n.\r\n"
    message = email(body=body)

    channels(server).send(message)

    assert server.messages[0].data == message.data


def test_data_without_final_crlf_gets_only_the_crlf_smtp_requires(
    smtp_server: StartServer, channels: MakeChannel
) -> None:
    server = smtp_server()
    message = email(body="no newline at the end")

    channels(server).send(message)

    assert server.messages[0].data == message.data + b"\r\n"


def test_non_ascii_recipient_uses_smtputf8(smtp_server: StartServer, channels: MakeChannel) -> None:
    server = smtp_server()

    channels(server).send(email("jöns@exämple.org"))

    assert server.messages[0].rcpt_tos == ("jöns@exämple.org",)


def test_starttls_verifies_the_certificate(
    smtp_server: StartServer, channels: MakeChannel, smtp_tls: TlsMaterial
) -> None:
    server = smtp_server(tls=smtp_tls, require_starttls=True)

    channels(server, security="starttls", ssl_context=smtp_tls.client_context).send(email())

    assert server.messages[0].tls is True


def test_untrusted_certificate_stops_the_channel(
    smtp_server: StartServer, channels: MakeChannel, smtp_tls: TlsMaterial
) -> None:
    """An untrusted certificate is a configuration problem (wrong host, missing CA, expired certificate):
    every message would fail the same way, so the channel stops (ChannelFailure) and the message waits."""
    server = smtp_server(tls=smtp_tls, require_starttls=True)
    channel = channels(server, security="starttls")  # default context: system CAs only

    with pytest.raises(ChannelFailure, match=r"127\.0\.0\.1:\d+: TLS certificate not trusted"):
        channel.send(email())
    assert server.messages == []


def test_starttls_not_offered_stops_the_channel(smtp_server: StartServer, channels: MakeChannel) -> None:
    server = smtp_server()  # no TLS at all

    with pytest.raises(ChannelFailure, match="STARTTLS.*check smtp.security"):
        channels(server, security="starttls").send(email())


def test_implicit_tls(smtp_server: StartServer, channels: MakeChannel, smtp_tls: TlsMaterial) -> None:
    server = smtp_server(tls=smtp_tls, tls_mode="implicit")

    channels(server, security="ssl", ssl_context=smtp_tls.client_context).send(email())

    assert server.messages[0].tls is True


def test_auth_success(smtp_server: StartServer, channels: MakeChannel, smtp_tls: TlsMaterial) -> None:
    server = smtp_server(tls=smtp_tls, credentials=(USER, PASSWORD))
    channel = channels(
        server, security="starttls", ssl_context=smtp_tls.client_context, username=USER, password=PASSWORD
    )

    channel.send(email())

    assert server.messages[0].login == USER


def test_auth_over_implicit_tls(
    smtp_server: StartServer, channels: MakeChannel, smtp_tls: TlsMaterial
) -> None:
    server = smtp_server(tls=smtp_tls, tls_mode="implicit", credentials=(USER, PASSWORD))
    channel = channels(
        server, security="ssl", ssl_context=smtp_tls.client_context, username=USER, password=PASSWORD
    )

    channel.send(email())

    assert server.messages[0].login == USER


def test_wrong_password_stops_the_channel_and_never_shows_the_password(
    smtp_server: StartServer, channels: MakeChannel, smtp_tls: TlsMaterial, caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp_server(tls=smtp_tls, credentials=(USER, "the-right-one"))
    channel = channels(
        server, security="starttls", ssl_context=smtp_tls.client_context, username=USER, password=PASSWORD
    )
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ChannelFailure) as caught:
        channel.send(email())

    reason = str(caught.value)
    assert f"127.0.0.1:{server.port}" in reason
    assert repr(USER) in reason
    assert "535" in reason
    assert PASSWORD not in reason
    assert PASSWORD not in repr(caught.value.__cause__)
    assert PASSWORD not in caplog.text
    assert server.messages == []


def test_refused_recipient_is_permanent_and_the_connection_carries_on(
    smtp_server: StartServer, channels: MakeChannel
) -> None:
    server = smtp_server(rcpt_replies={"bounce@example.org": "550 5.1.1 <bounce@example.org>: No such user"})
    channel = channels(server)

    with pytest.raises(PermanentFailure) as caught:
        channel.send(email("bounce@example.org"))
    channel.send(email("reader@example.org"))

    assert "550 5.1.1 <bounce@example.org>: No such user" in str(caught.value)
    assert [m.rcpt_tos for m in server.messages] == [("reader@example.org",)]
    assert server.connections == 1
    assert server.count("RSET") >= 1


def test_refused_message_data_is_permanent_and_the_connection_carries_on(
    smtp_server: StartServer, channels: MakeChannel
) -> None:
    server = smtp_server(data_replies={"spam@example.org": "554 5.7.1 Message rejected as spam"})
    channel = channels(server)

    with pytest.raises(PermanentFailure, match="554 5.7.1 Message rejected as spam"):
        channel.send(email("spam@example.org"))
    channel.send(email())

    assert len(server.messages) == 1
    assert server.connections == 1


def test_4xx_is_temporary(smtp_server: StartServer, channels: MakeChannel) -> None:
    server = smtp_server(rcpt_replies={"later@example.org": "451 4.3.0 Try again"})
    channel = channels(server)

    with pytest.raises(TemporaryFailure, match="451 4.3.0 Try again") as caught:
        channel.send(email("later@example.org"))
    channel.send(email())

    assert not isinstance(caught.value, PermanentFailure)
    assert len(server.messages) == 1
    assert server.connections == 1


@pytest.mark.parametrize(
    "reply, expected",
    [("421 4.3.2 Shutting down", "421 4.3.2 Shutting down"), (DROP, "connection lost")],
    ids=["421", "dropped"],
)
def test_server_going_away_is_temporary_and_the_next_send_reconnects(
    smtp_server: StartServer, channels: MakeChannel, reply: str, expected: str
) -> None:
    server = smtp_server(rcpt_replies={"later@example.org": reply})
    channel = channels(server)
    channel.send(email("first@example.org"))

    with pytest.raises(TemporaryFailure, match=expected):
        channel.send(email("later@example.org"))
    channel.send(email("next@example.org"))

    assert [(m.rcpt_tos, m.connection) for m in server.messages] == [
        (("first@example.org",), 1),
        (("next@example.org",), 2),
    ]


def test_421_at_end_of_data_is_temporary_and_reconnects(
    smtp_server: StartServer, channels: MakeChannel
) -> None:
    server = smtp_server(data_replies={"later@example.org": "421 4.4.2 Timeout"})
    channel = channels(server)

    with pytest.raises(TemporaryFailure, match="421 4.4.2 Timeout"):
        channel.send(email("later@example.org"))
    channel.send(email())

    assert [m.connection for m in server.messages] == [2]


def test_connection_refused_is_temporary_and_names_the_address(channels: MakeChannel) -> None:
    port = unused_port()

    with pytest.raises(TemporaryFailure, match=rf"127\.0\.0\.1:{port}"):
        channels(host="127.0.0.1", port=port).send(email())


def test_silent_server_times_out_as_temporary(channels: MakeChannel) -> None:
    with socket.socket() as listener:  # accepts connections (backlog) but never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        channel = channels(host="127.0.0.1", port=listener.getsockname()[1], timeout=0.3)
        started = time.monotonic()

        with pytest.raises(TemporaryFailure, match="timed out"):
            channel.send(email())

    assert time.monotonic() - started < 2


def test_connection_is_recycled_after_messages_per_connection(
    smtp_server: StartServer, channels: MakeChannel
) -> None:
    server = smtp_server()
    channel = channels(server, messages_per_connection=2)

    for i in range(5):
        channel.send(email(key=f"k{i}"))

    assert [m.connection for m in server.messages] == [1, 1, 2, 2, 3]
    assert server.count("QUIT") == 2


def test_idle_connection_closed_by_the_server_is_replaced(
    smtp_server: StartServer, channels: MakeChannel
) -> None:
    server = smtp_server(idle_timeout=0.2)
    channel = channels(server)
    channel.idle_probe_after = 0.1
    channel.send(email(key="before"))
    time.sleep(0.4)

    channel.send(email(key="after"))

    assert [m.connection for m in server.messages] == [1, 2]


def test_close_sends_quit_and_never_raises(smtp_server: StartServer, channels: MakeChannel) -> None:
    server = smtp_server()
    channel = channels(server)
    channel.close()  # never connected: nothing to do
    channel.send(email())

    channel.close()
    channel.close()

    assert server.count("QUIT") == 1
    channel.send(email())  # reconnects after close
    server.stop()
    channel.close()  # the server is gone: still no error


def test_pipelining_is_used_when_offered(
    smtp_server: StartServer, channels: MakeChannel, pipelining: bool
) -> None:
    server = smtp_server()
    channel = channels(server)

    for i in range(3):
        channel.send(email(key=f"k{i}"))

    assert len(server.messages) == 3
    assert server.count("PIPELINED") == (3 if pipelining else 0)


@pytest.mark.parametrize(
    "body",
    [
        ".\r\n",  # a lone dot as the first line of the body
        "a\r\n.\r\nb\r\n",  # a lone dot in the middle
        "..\r\n...\r\n",  # lines that are dots only
        ".leading\r\n. space\r\n",
        "ends with a dot line\r\n.",  # no final CRLF, last line a dot
        "dots.in.the\r\nmiddle.\r\n",
    ],
)
def test_dot_stuffing_delivers_every_line_intact(
    smtp_server: StartServer, channels: MakeChannel, body: str
) -> None:
    server = smtp_server()
    message = email(body=body)

    channels(server).send(message)

    expected = message.data if message.data.endswith(b"\r\n") else message.data + b"\r\n"
    assert server.messages[0].data == expected


def test_data_starting_with_a_dot_and_bare_line_feeds(
    smtp_server: StartServer, channels: MakeChannel
) -> None:
    """EmailOut promises CRLF; data that breaks the promise is fixed as smtplib would, not sent broken."""
    server = smtp_server()
    data = b".Subject: odd\n\nline one\r.\nend\n"
    channels(server).send(
        EmailOut(key="k", sender="digest@example.com", recipient="r@example.org", data=data)
    )

    assert server.messages[0].data == b".Subject: odd\r\n\r\nline one\r\n.\r\nend\r\n"


def test_wire_data_stuffs_once_and_terminates() -> None:
    assert wire_data(b"a\r\n.b\r\n") == b"a\r\n..b\r\n.\r\n"
    assert wire_data(b".x") == b"..x\r\n.\r\n"
    assert wire_data(b"") == b".\r\n"


def test_refused_recipient_is_a_hard_bounce_and_4xx_enhanced_is_temporary(
    smtp_server: StartServer, channels: MakeChannel
) -> None:
    server = smtp_server(
        rcpt_replies={
            "gone@example.org": "550 5.1.1 No such user",
            "full@example.org": "552 4.2.2 Mailbox full, try later",
        },
        data_replies={"spam@example.org": "554 5.7.1 Rejected"},
    )
    channel = channels(server)

    with pytest.raises(RecipientRejected, match="550 5.1.1 No such user"):
        channel.send(email("gone@example.org"))
    with pytest.raises(TemporaryFailure, match="552 4.2.2 Mailbox full"):
        channel.send(email("full@example.org"))
    with pytest.raises(PermanentFailure) as caught:
        channel.send(email("spam@example.org"))
    channel.send(email())

    assert not isinstance(caught.value, RecipientRejected)
    assert [m.rcpt_tos for m in server.messages] == [("reader@example.org",)]
    assert server.connections == 1


def test_refused_sender_is_permanent_and_the_connection_carries_on(
    smtp_server: StartServer, channels: MakeChannel
) -> None:
    server = smtp_server(mail_replies={"banned@example.com": "553 5.7.1 Sender not allowed"})
    channel = channels(server)
    banned = EmailOut(key="k", sender="banned@example.com", recipient="r@example.org", data=b"x\r\n")

    with pytest.raises(PermanentFailure, match="refused sender banned@example.com: 553 5.7.1") as caught:
        channel.send(banned)
    channel.send(email())

    assert not isinstance(caught.value, RecipientRejected)

    assert len(server.messages) == 1
    assert server.connections == 1


def test_address_with_a_line_break_is_refused_before_the_wire(
    smtp_server: StartServer, channels: MakeChannel
) -> None:
    server = smtp_server()
    channel = channels(server)
    evil = EmailOut(
        key="k", sender="d@example.com", recipient="r@example.org>\r\nRCPT TO:<x@y", data=b"x\r\n"
    )

    with pytest.raises(PermanentFailure, match="recipient address .* is not a plain address"):
        channel.send(evil)
    channel.send(email())

    assert [m.rcpt_tos for m in server.messages] == [("reader@example.org",)]
