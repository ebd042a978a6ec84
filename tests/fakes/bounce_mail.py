"""What comes back to the bounce address, as the reader's mail server or mailbox provider sends it: a
Postfix-shaped RFC 3464 DSN and an RFC 5965 ARF complaint carrying the original message."""

from __future__ import annotations


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def dsn(envelope_sender: str, recipient: str, *, status: str = "5.1.1", message_id: str = "ABC123") -> bytes:
    """A DSN for a message accepted earlier and failed later, sent to its envelope sender."""
    words = "User unknown" if status.startswith("5") else "Mailbox full"
    return _crlf(f"""Return-Path: <>
Delivered-To: {envelope_sender}
From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: {envelope_sender}
Subject: Undelivered Mail Returned to Sender
Message-ID: <20261127120501.{message_id}@mx.example.org>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"

--B0UND
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered to {recipient}.

--B0UND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; {recipient}
Action: failed
Status: {status}
Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected: {words}

--B0UND
Content-Type: text/rfc822-headers

From: The Meridian Review <digest@meridian-review.example>
To: {recipient}
Subject: Tiny

--B0UND--
""")


def arf(original: bytes, recipient: str) -> bytes:
    """A feedback-loop complaint about ``original`` (the message as the reader got it, Return-Path on top)."""
    head = _crlf(f"""From: Feedback Loop <fbl@feedback.mailbox.example>
To: fbl@meridian-review.example
Subject: Complaint about message from 198.51.100.20
Message-ID: <fbl.20261130.8841@feedback.mailbox.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="FBL"

--FBL
Content-Type: text/plain; charset=us-ascii

This is an email abuse report.

--FBL
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ProviderFBL/2.4
Version: 1
Original-Rcpt-To: <{recipient}>

--FBL
Content-Type: message/rfc822
Content-Disposition: inline

""")
    return head + original.rstrip(b"\r\n") + b"\r\n\r\n--FBL--\r\n"
