from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, parsedate_to_datetime

import pytest

from distro.compose.digest import ComposedDigest
from distro.compose.message import Personal, PreparedMessage, build_message_template, fill_preview
from distro.settings import DigestSettings, EmailSettings, Settings
from tests.compose.test_digest import NOW, SLUG, UTM, compose

UNSUBSCRIBE = "https://meridian-review.example/u?token=AbC==&list=weekly"
MAILTO = "mailto:unsubscribe@meridian-review.example?subject=unsubscribe%20AbC"


def personal(
    name: str | None = 'Zoë <b>&"Ops"', address: str = "zoe@example.org", number: int = 1
) -> Personal:
    return Personal(
        email=address,
        name=name,
        unsubscribe_url=UNSUBSCRIBE,
        unsubscribe_mailto=MAILTO,
        message_id=f"<{SLUG}.{number}@meridian-review.example>",
        date=format_datetime(NOW),
    )


@pytest.fixture(scope="module")
def digest() -> ComposedDigest:
    return compose(Settings(email=EmailSettings(reply_to="desk@meridian-review.example")))


@pytest.fixture(scope="module")
def prepared(digest: ComposedDigest) -> PreparedMessage:
    return PreparedMessage.from_template(digest.message_template)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[EmailMessage, EmailMessage]:
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    return plain, html


def test_message_structure_and_headers(prepared: PreparedMessage) -> None:
    raw = prepared.render(personal())
    message = parse(raw)
    plain, html = parts(message)
    for part, kind in ((plain, "text/plain"), (html, "text/html")):
        assert part.get_content_type() == kind
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert message["From"] == "The Meridian Review <digest@meridian-review.example>"
    assert message["Reply-To"] == "desk@meridian-review.example"
    assert message["To"].addresses[0].addr_spec == "zoe@example.org"
    assert message["To"].addresses[0].display_name == 'Zoë <b>&"Ops"'
    assert message["Subject"] == "Story 1: ports & “policy”"
    assert message["MIME-Version"] == "1.0"
    assert message["Message-ID"] == f"<{SLUG}.1@meridian-review.example>"
    assert parsedate_to_datetime(message["Date"]) == NOW
    assert message["List-Id"] == "The Meridian Review <weekly.meridian-review.example>"
    assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>, <{MAILTO}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Feedback-ID"] == f"{SLUG}:digest:weekly.meridian-review.example:distro"
    assert not message.defects and not plain.defects and not html.defects


def test_wire_format(prepared: PreparedMessage) -> None:
    raw = prepared.render(personal())
    assert raw.isascii()
    assert b"%%DISTRO" not in raw
    assert raw.count(b"\n") == raw.count(b"\r\n")  # CRLF only
    lines = raw.split(b"\r\n")
    header_end = lines.index(b"")
    assert max(len(line) for line in lines[:header_end]) <= 78
    assert max(len(line) for line in lines) <= 998
    assert max(len(line) for line in lines[header_end:]) <= 76


def test_personal_values_in_both_parts(prepared: PreparedMessage) -> None:
    plain, html = parts(parse(prepared.render(personal())))
    text_body, html_body = plain.get_content(), html.get_content()
    assert 'Hello Zoë <b>&"Ops",' in text_body
    assert "Hello Zoë &lt;b&gt;&amp;&quot;Ops&quot;," in html_body
    assert "<b>&" not in html_body
    assert f"Unsubscribe: {UNSUBSCRIBE}" in text_body
    assert f'href="{UNSUBSCRIBE.replace("&", "&amp;")}"' in html_body
    assert "as zoe@example.org." in " ".join(text_body.split()) and "as zoe@example.org." in html_body
    for index in range(12):
        assert f"Read: https://meridian-review.example/2025/story-{index}?ref=feed&amp=1&{UTM}" in text_body


def test_preview_is_what_the_subscriber_reads(digest: ComposedDigest, prepared: PreparedMessage) -> None:
    who = personal()
    plain, html = parts(parse(prepared.render(who)))
    # the same text; quoted-printable hard line breaks decode as CRLF, the stored digest uses LF
    assert fill_preview(digest.html, who) == html.get_content().replace("\r\n", "\n")
    assert fill_preview(digest.text, who) == plain.get_content().replace("\r\n", "\n")


def test_missing_name_uses_the_greeting_fallback() -> None:
    digest = compose(Settings(digest=DigestSettings(greeting_fallback="dear réader")))
    message = parse(PreparedMessage.from_template(digest.message_template).render(personal(name=None)))
    plain, html = parts(message)
    assert message["To"] == "zoe@example.org"
    assert "Hello dear réader," in plain.get_content()
    assert "Hello dear réader," in html.get_content()
    assert fill_preview(digest.text, personal(name="  ")).count("Hello dear réader,") == 1


def test_name_with_line_breaks_cannot_inject_headers(prepared: PreparedMessage) -> None:
    raw = prepared.render(personal(name="Eve\r\nBcc: x@evil.example\nX-Evil: 1"))
    message = parse(raw)
    assert len(message.get_all("To")) == 1
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert b"\r\nBcc:" not in raw and b"\nX-Evil" not in raw
    assert message["To"].addresses[0].addr_spec == "zoe@example.org"
    assert "Hello Eve Bcc: x@evil.example X-Evil: 1," in parts(message)[0].get_content()


@pytest.mark.parametrize(
    "address",
    [
        "eve@example.org\r\nBcc: x@evil.example",
        "eve @example.org",
        "<eve@example.org>",
        "no-at-sign",
        "a@x.example, boss@corp.example",
        "@example.org",
        "eve@",
    ],
)
def test_unusable_address_is_refused(prepared: PreparedMessage, address: str) -> None:
    with pytest.raises(ValueError):
        prepared.render(personal(address=address))


def test_unusable_message_id_or_url_is_refused(prepared: PreparedMessage) -> None:
    good = personal()
    for bad in (
        replace(good, message_id="no-brackets@x"),
        replace(good, message_id="<a\r\nBcc: x@y>"),
        replace(good, date="Mon\r\nBcc: x@y"),
        replace(good, unsubscribe_url="https://x.example/u>\r\nBcc: x@y"),
    ):
        with pytest.raises(ValueError):
            prepared.render(bad)


def test_long_non_ascii_name_is_encoded_and_folded(prepared: PreparedMessage) -> None:
    name = "Zoë Åsa Björklund-Øyelaran de la Peña y Müller-Lüdenscheidt " * 2
    raw = prepared.render(personal(name=name))
    assert parse(raw)["To"].addresses[0].addr_spec == "zoe@example.org"
    folded = raw.split(b"\r\nTo: ")[1].split(b"\r\nReply-To:")[0].decode("ascii")
    assert all(len(line) <= 78 for line in folded.split("\r\n"))
    # decode_header follows RFC 2047 (whitespace between encoded words is dropped); the header
    # registry's address parser does not, so it is not used to compare here.
    phrase = folded.rsplit("<", 1)[0].replace("\r\n", "")
    assert str(make_header(decode_header(phrase))).strip() == " ".join(name.split())


@pytest.mark.parametrize("name", ['Doe, John "JD"', "=?utf-8?q?The_Boss?=", "Ann <ann@x.example>"])
def test_ascii_name_with_specials_is_quoted(prepared: PreparedMessage, name: str) -> None:
    raw = prepared.render(personal(name=name))
    to = parse(raw)["To"]
    assert len(to.addresses) == 1
    assert (to.addresses[0].display_name, to.addresses[0].addr_spec) == (name, "zoe@example.org")


def test_non_ascii_subject_is_rfc2047_encoded() -> None:
    settings = Settings(digest=DigestSettings(subject="Ünïcode wöchentlich — {{ lead.title }}"))
    digest = compose(settings)
    raw = PreparedMessage.from_template(digest.message_template).render(personal())
    subject_lines = raw.split(b"\r\n\r\n")[0].split(b"Subject:")[1].split(b"\r\nDate:")[0]
    assert b"=?utf-8?" in subject_lines and raw.isascii()
    assert parse(raw)["Subject"] == "Ünïcode wöchentlich — Story 1: ports & “policy”" == digest.subject


def test_list_unsubscribe_without_mailto() -> None:
    digest = compose(Settings(email=EmailSettings(unsubscribe_mailto=None)))
    message = parse(PreparedMessage.from_template(digest.message_template).render(personal()))
    assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"


def test_subscriber_without_mailto_gets_only_the_https_form(prepared: PreparedMessage) -> None:
    who = replace(personal(), unsubscribe_mailto=None)
    assert parse(prepared.render(who))["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"


def test_thousand_subscribers_get_their_own_messages(prepared: PreparedMessage) -> None:
    headers = BytesHeaderParser(policy=email.policy.default)
    seen_ids, seen_to = set(), set()
    for number in range(1000):
        who = personal(name=f"Reader {number}", address=f"r{number}@example.org", number=number)
        parsed = headers.parsebytes(prepared.render(who))
        seen_ids.add(parsed["Message-ID"])
        seen_to.add(parsed["To"].addresses[0].addr_spec)
    assert len(seen_ids) == 1000
    assert seen_to == {f"r{number}@example.org" for number in range(1000)}


def test_damaged_template_is_refused(digest: ComposedDigest) -> None:
    broken = digest.message_template.replace("%%DISTRO:header.to%%", "%%DISTRO:header.tto%%")
    with pytest.raises(ValueError):
        PreparedMessage.from_template(broken)
    with pytest.raises(ValueError):
        build_message_template(
            settings=Settings(), slug=SLUG, subject="s", html="<p>%%DISTRO:text.email%%</p>", text="t"
        )
