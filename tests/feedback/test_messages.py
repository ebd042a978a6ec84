"""read_message on one sample per shape that reaches a bounce address, and on input made to break it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distro.feedback.messages import read_message
from distro.feedback.report import Feedback, Kind, Source
from distro.tokens import bounce_token

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "bounces"
TEMPLATE = "bounces+{token}@bounces.meridian-review.example"
TOKEN = bounce_token(b"k" * 32, 42)
VERP = TEMPLATE.replace("{token}", TOKEN)
HARD, SOFT, COMPLAINT, NONE = Kind.HARD, Kind.SOFT, Kind.COMPLAINT, Kind.UNRECOGNISED


def sample(name: str) -> bytes:
    return (SAMPLES / f"{name}.eml").read_bytes()


def read(name: str, **kwargs: str) -> Feedback:
    return read_message(sample(name), bounce_address=TEMPLATE, **kwargs)


# sample, kind, source, recipient, status, token, words the diagnostic must contain
CASES = [
    ("postfix_hard_511", HARD, Source.DSN, "ana.souza@example.net", "5.1.1", TOKEN, "550 5.1.1 <ana.souza"),
    (
        "dsn_soft_422_mailbox_full",
        SOFT,
        Source.DSN,
        "bruno.keller@example.com",
        "4.2.2",
        TOKEN,
        "Mailbox full",
    ),
    ("dsn_soft_522_over_quota", SOFT, Source.DSN, "chiara.romano@example.it", "5.2.2", TOKEN, "over quota"),
    ("dsn_greylisted_gave_up", SOFT, Source.DSN, "dmitri.ivanov@example.org", "4.2.0", TOKEN, "Greylisted"),
    ("dsn_delayed", NONE, Source.DSN, "erik.lund@example.se", "4.4.1", TOKEN, "Connection timed out"),
    ("dsn_two_recipients", HARD, Source.DSN, "fatima.haddad@example.net", "5.1.1", TOKEN, "User unknown"),
    ("dsn_unparseable_recipient", HARD, Source.DSN, None, "5.1.1", TOKEN, "recipient not known"),
    ("exim_permanent", HARD, Source.DSN, "olaf.berg@example.org", "5.1.1", TOKEN, "550 5.1.1 <olaf.berg"),
    ("qmail_permanent", HARD, Source.DSN, "li.wei@example.com", "5.1.1", TOKEN, "550 5.1.1 <li.wei"),
    ("exchange_ndr", HARD, Source.DSN, "marta.kowalska@contoso.example", "5.1.1", TOKEN, "RecipNotFound"),
    ("gmail_address_not_found", HARD, Source.DSN, "tomas.novak@example.cz", "5.1.1", TOKEN, "User unknown"),
    ("yahoo_permanent", HARD, Source.DSN, "priya.raman@yahoo.com", None, TOKEN, "554: delivery error"),
    (
        "arf_abuse_with_original",
        COMPLAINT,
        Source.ARF,
        "grace.okafor@mailbox-provider.example",
        None,
        TOKEN,
        "abuse",
    ),
    ("arf_abuse_headers_only", COMPLAINT, Source.ARF, "hiro.tanaka@webmail.example", None, TOKEN, "abuse"),
    ("arf_not_spam", NONE, Source.ARF, "grace.okafor@mailbox-provider.example", None, TOKEN, "not-spam"),
    ("autoreply_vacation", NONE, Source.DSN, None, None, TOKEN, "autoreply"),
    ("autoreply_exchange_ooo", NONE, Source.DSN, None, None, TOKEN, "autoreply"),
    ("human_reply", NONE, Source.DSN, None, None, TOKEN, "not a bounce"),
    ("garbage", NONE, Source.DSN, None, None, None, "no header fields"),
    ("empty", NONE, Source.DSN, None, None, None, "empty message"),
]


@pytest.mark.parametrize(("name", "kind", "source", "recipient", "status", "token", "words"), CASES)
def test_each_sample_reads_as_what_it_is(
    name: str,
    kind: Kind,
    source: Source,
    recipient: str | None,
    status: str | None,
    token: str | None,
    words: str,
) -> None:
    feedback = read(name)
    assert (feedback.kind, feedback.source) == (kind, source)
    assert (feedback.recipient, feedback.status, feedback.token) == (recipient, status, token)
    assert feedback.diagnostic is not None and words in feedback.diagnostic
    assert feedback.report_id


def test_bounces_marked_auto_replied_are_still_bounces() -> None:
    # Postfix, Exim, Gmail and Exchange all send Auto-Submitted: auto-replied on their bounces.
    for name in ("postfix_hard_511", "exim_permanent", "gmail_address_not_found", "exchange_ndr"):
        assert b"Auto-Submitted: auto-replied" in sample(name)
        assert read(name).kind is HARD


def test_the_report_id_is_the_message_id_else_a_digest_of_the_bytes() -> None:
    assert read("postfix_hard_511").report_id == "20261130070211.4ZxQ1L0bQkz9sWQ@mail.meridian-review.example"
    qmail = read("qmail_permanent").report_id
    assert qmail is not None and re.fullmatch(r"sha256:[0-9a-f]{64}", qmail)
    assert read_message(b"Message-ID: <" + b"x" * 300 + b">\n\nhi").report_id == "x" * 200


def test_the_diagnostic_is_one_line_from_the_bounce_not_from_the_returned_original() -> None:
    # The returned digest in the Exim bounce mentions "Status 4.4.1"; the bounce itself says 5.1.1.
    exim = read("exim_permanent")
    assert exim.status == "5.1.1" and exim.diagnostic is not None and "\n" not in exim.diagnostic
    postfix = read("postfix_hard_511").diagnostic
    assert postfix == (
        "550 5.1.1 <ana.souza@example.net>: Recipient address rejected: User unknown in virtual mailbox table"
    )


def test_a_long_diagnostic_is_cut_to_500_characters() -> None:
    data = sample("postfix_hard_511").replace(b"virtual mailbox table\n\n--", b"x" * 2000 + b"\n\n--", 1)
    diagnostic = read_message(data).diagnostic
    assert diagnostic is not None and len(diagnostic) == 500


def test_the_envelope_recipient_gives_the_token_when_the_headers_do_not() -> None:
    data = sample("dsn_unparseable_recipient").replace(f"Delivered-To: {VERP}\n".encode(), b"")
    assert read_message(data, bounce_address=TEMPLATE).kind is NONE  # a bounce about nobody
    feedback = read_message(data, bounce_address=TEMPLATE, envelope_recipient=VERP)
    assert (feedback.kind, feedback.recipient, feedback.token) == (HARD, None, TOKEN)


def test_without_a_bounce_address_there_is_no_token() -> None:
    postfix = read_message(sample("postfix_hard_511"))
    assert (postfix.kind, postfix.recipient, postfix.token) == (HARD, "ana.souza@example.net", None)
    # Only the token lets an unknown bounce shape, or one that names nobody, count.
    assert read_message(sample("exchange_ndr")).kind is NONE
    assert read_message(sample("dsn_unparseable_recipient")).kind is NONE


def test_a_person_passing_a_bounce_on_has_not_bounced() -> None:
    qmail = sample("qmail_permanent").split(b"\n\n", 1)[1]
    forward = (
        b"From: Ines Duarte <ines.duarte@example.pt>\nTo: " + VERP.encode() + b"\n"
        b"Subject: Fwd: failure notice\n\nWhy did this bounce?\n\n" + qmail
    )
    assert read_message(forward, bounce_address=TEMPLATE).kind is NONE


AUTOREPLY_FIELDS = [
    b"X-Autoreply: yes\n",
    b"X-Autorespond: I am away\n",
    b"Precedence: auto_reply\n",
    b"X-MS-Exchange-Inbox-Rules-Loop: reader@example.net\n",
    b"Auto-Submitted: auto-replied\n",
    b"X-Auto-Response-Suppress: All\nSubject: Out of Office: This week\n",
    b"Auto-Submitted: auto-generated\nSubject: Autoreply: This week\n",
]


@pytest.mark.parametrize("fields", AUTOREPLY_FIELDS)
def test_autoreplies_are_never_bounces(fields: bytes) -> None:
    # Even with a bounce's code in the text, arriving on the VERP address with no Return-Path.
    data = b"Return-Path: <>\nFrom: reader@example.net\nTo: " + VERP.encode() + b"\n" + fields
    feedback = read_message(data + b"\n550 5.1.1 I am away\n", bounce_address=TEMPLATE)
    assert (feedback.kind, feedback.diagnostic, feedback.token) == (NONE, "autoreply", TOKEN)


@pytest.mark.parametrize(
    "fields",
    [b"Auto-Submitted: auto-generated\nSubject: Re: This week\n", b"X-Auto-Response-Suppress: All\n"],
)
def test_hints_alone_do_not_make_an_autoreply(fields: bytes) -> None:
    feedback = read_message(b"From: reader@example.net\n" + fields + b"\nThanks!\n", bounce_address=TEMPLATE)
    assert feedback.diagnostic == "not a bounce or complaint"


def test_an_unknown_bounce_on_a_verp_address_counts_by_its_code() -> None:
    head = b"From: MAILER-DAEMON@mx.example.net\nTo: " + VERP.encode() + b"\nSubject: failure notice\n\n"
    hard = read_message(head + b"Could not deliver: 550 5.1.1 no such user\n", bounce_address=TEMPLATE)
    soft = read_message(head + b"Could not deliver: 452 4.2.2 mailbox full\n", bounce_address=TEMPLATE)
    none = read_message(head + b"Could not deliver, sorry.\n", bounce_address=TEMPLATE)
    assert (hard.kind, hard.status, hard.diagnostic) == (HARD, "5.1.1", "550 5.1.1 no such user")
    assert (soft.kind, soft.status, soft.token) == (SOFT, "4.2.2", TOKEN)
    assert (none.kind, none.token) == (NONE, TOKEN)


BROKEN = [
    sample("postfix_hard_511")[:1500],  # cut inside the delivery-status part
    sample("arf_abuse_with_original")[:900],
    b"X-Long: " + b"a" * 3_000_000 + b"\n" + sample("qmail_permanent"),
    b"Content-Type: multipart/mixed; boundary=b\n\n"
    + b"--b\nContent-Type: multipart/mixed; boundary=b\n\n" * 3000,
    b"From: MAILER-DAEMON@x\nContent-Type: message/delivery-status\n\nAction: failed\nStatus: 5.1.1\n",
    b"From: \xff\xfe\x00<postmaster@x>\nSubject: =?bogus?q?=ZZ?=\nX-Failed-Recipients: \xc3\xa9@x\n\n5.1.1",
    b"Content-Type: multipart/report; report-type=feedback-report; boundary=q\n\n--q--\n",
    b"\r\n\r\n\r\n",
]


@pytest.mark.parametrize("data", BROKEN, ids=range(len(BROKEN)))
def test_broken_input_is_read_without_raising(data: bytes) -> None:
    feedback = read_message(data, bounce_address=TEMPLATE, envelope_recipient=VERP)
    assert isinstance(feedback.kind, Kind) and feedback.report_id


def assert_well_formed(feedback: Feedback) -> None:
    assert feedback.diagnostic is None or (
        len(feedback.diagnostic) <= 500 and "\n" not in feedback.diagnostic
    )
    assert feedback.recipient is None or feedback.recipient == feedback.recipient.lower()
    assert feedback.report_id is not None and len(feedback.report_id) <= 200


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    assert_well_formed(read_message(data, bounce_address=TEMPLATE))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from([name for name, *_ in CASES[:15]]), st.integers(0, 6000), st.binary(max_size=300))
def test_samples_cut_and_spliced_never_raise(name: str, cut: int, junk: bytes) -> None:
    data = sample(name)
    assert_well_formed(read_message(data[:cut] + junk + data[cut:], bounce_address=TEMPLATE))
