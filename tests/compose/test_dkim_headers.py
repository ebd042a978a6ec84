"""The DKIM signature of a real digest, header by header: a golden list of what ``h=`` signs.

Feedback-ID is signed (Google's feedback loop ignores it unsigned); From, Subject, List-Unsubscribe and
List-Unsubscribe-Post are oversigned, so adding a second one after signing breaks the signature, which
dkimpy confirms. The headers are folded as usual: none starts its value on a continuation line.
"""

from __future__ import annotations

import re

import dkim
import pytest
import time_machine

from distro.app import App
from distro.compose.dkim import DkimSigner
from tests.compose.emails import every_email
from tests.test_dkim import rsa_pair

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
GOLDEN_H = (
    "from:from:to:subject:subject:date:message-id:list-id:list-unsubscribe:list-unsubscribe:"
    "list-unsubscribe-post:list-unsubscribe-post:feedback-id:mime-version:content-type"
)
ADDED = {
    "From": b"From: Bank <security@bank.example>\r\n",
    "Subject": b"Subject: Verify your account\r\n",
    "List-Unsubscribe": b"List-Unsubscribe: <https://evil.example/u>\r\n",
    "List-Unsubscribe-Post": b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
}


def signed_list(message: bytes) -> str:
    header = message.split(b"\r\n b=", 1)[0].replace(b"\r\n ", b"").decode("ascii")
    return header.split("h=", 1)[1].split(";", 1)[0]


def test_the_signed_headers_are_the_reviewed_list_and_none_can_be_added(
    app: App, clock: time_machine.Traveller
) -> None:
    pem, dns = rsa_pair()
    signer = DkimSigner(b"s1", b"meridian-review.example", pem)
    emails = every_email(app)
    signed = signer.sign(emails["weekly"])
    assert signed_list(signed) == GOLDEN_H
    assert dkim.verify(signed, dnsfunc=dns)
    head, _, body = signed.partition(b"\r\n\r\n")
    for name, line in ADDED.items():
        tampered = head + b"\r\n" + line.removesuffix(b"\r\n") + b"\r\n\r\n" + body
        assert not dkim.verify(tampered, dnsfunc=dns), f"a {name} added after signing went unnoticed"
    # a confirmation has no List-Unsubscribe: still named once, so one cannot be slipped in
    assert "list-unsubscribe:list-unsubscribe-post" in signed_list(signer.sign(emails["confirm"]))


def test_headers_are_folded_after_their_value_starts(app: App, clock: time_machine.Traveller) -> None:
    app.settings.email.list_id = "security-and-defence-brief.news.meridian-review-example.org"
    for kind, raw in every_email(app).items():
        head = raw.partition(b"\r\n\r\n")[0].decode("ascii")
        assert not re.search(r"^[\w-]+:[ \t]*\r\n", head, re.M), f"{kind}: a value starts on a continuation"
        assert "Feedback-ID: " in head or kind in ("confirm", "welcome")
