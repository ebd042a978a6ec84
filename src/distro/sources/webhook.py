"""The CMS webhook: a signed JSON article pushed by the publication's CMS.

The CMS sends ``POST /hooks/articles`` with two headers:

* ``X-Distro-Timestamp``: the send time in Unix seconds;
* ``X-Distro-Signature``: ``sha256=`` + hex HMAC-SHA256 of ``timestamp + "." + raw body`` with the shared
  secret (``DISTRO_WEB__WEBHOOK_SECRET``).

Signing the timestamp with the body lets a stale request (older than ``web.webhook_max_age_seconds``) be
refused, so a captured request cannot be replayed later; inside that window the receiver remembers each
accepted signature (:func:`signature_digest`) and refuses it a second time. The body is one article
object, or ``{"articles": [...]}``; each becomes an :class:`ArticleDraft` through the same cleaning as
every source. An article's version is its ``updated_at`` when the CMS sends one, else the signed send time,
so an older version that arrives after a newer one (a retry overtaken) is left alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from typing import Any

from distro.errors import Refused
from distro.sources.base import ArticleDraft
from distro.sources.draft import build_draft, parse_datetime

SIGNATURE_HEADER = "X-Distro-Signature"
TIMESTAMP_HEADER = "X-Distro-Timestamp"
MAX_ARTICLES = 100
# ASCII digits only (str.isdigit also takes "²" and "٣"), and few enough that int() and datetime cope.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class WebhookRejected(Refused):
    """The request is refused; ``status`` is the HTTP status to answer, ``reason`` says what to fix."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(reason)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value a CMS sends (also used by tests and by the README's curl example)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str | None, body: bytes, timestamp: str | None, signature: str | None, now: float, max_age: int
) -> int:
    """The signed send time (Unix seconds); raises WebhookRejected unless the request is signed with
    ``secret`` within ``max_age`` seconds of ``now``."""
    if not secret:
        raise WebhookRejected(503, "the webhook is not configured; set DISTRO_WEB__WEBHOOK_SECRET")
    if not signature:
        raise WebhookRejected(401, f"missing {SIGNATURE_HEADER} header (sha256=<hex HMAC of timestamp.body>)")
    sent = (timestamp or "").strip()
    if not _TIMESTAMP.fullmatch(sent):
        raise WebhookRejected(400, f"missing or invalid {TIMESTAMP_HEADER} header (Unix seconds)")
    if abs(now - int(sent)) > max_age:
        raise WebhookRejected(401, f"stale {TIMESTAMP_HEADER}: more than {max_age} s from the server's clock")
    # compare_digest refuses non-ASCII str; compare the bytes so any header value gets a 401, never a 500.
    if not hmac.compare_digest(sign(secret, sent, body).encode(), signature.strip().encode()):
        raise WebhookRejected(401, f"bad {SIGNATURE_HEADER}: it does not match the body and timestamp")
    return int(sent)


def signature_digest(signature: str) -> str:
    """What the receiver remembers of an accepted signature: its SHA-256, never the signature itself."""
    return hashlib.sha256(signature.strip().lower().encode()).hexdigest()


def parse_payload(body: bytes, sent_at: int | None = None) -> list[ArticleDraft]:
    """The drafts in a webhook body; raises WebhookRejected (400) naming the field to fix.

    Each draft's ``modified_at`` is the article's ``updated_at`` when given, else ``sent_at`` (the signed
    send time), so versions of one article are ordered even when the CMS does not say when it edited.
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise WebhookRejected(400, f"the body is not JSON ({exc})") from None
    items: Any = data.get("articles", [data]) if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise WebhookRejected(400, 'the body must be an article object or {"articles": [...]}')
    if len(items) > MAX_ARTICLES:
        raise WebhookRejected(400, f"at most {MAX_ARTICLES} articles per request")
    drafts = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise WebhookRejected(400, f"article {number} is not an object")
        draft = payload_to_draft(item)
        if draft is None:
            raise WebhookRejected(400, f"article {number}: 'url' must be an absolute http(s) URL")
        if draft.modified_at is None and sent_at is not None:
            draft = dataclasses.replace(draft, modified_at=datetime.fromtimestamp(sent_at, UTC))
        drafts.append(draft)
    return drafts


def payload_to_draft(item: dict[str, Any]) -> ArticleDraft | None:
    """One article object: url (required, canonical), title, summary, content, author, section or
    categories, image_url, published_at and updated_at (ISO 8601), guid (the id the feed uses, when the
    CMS knows it)."""
    categories = item.get("categories")
    names = [item.get("section"), *(categories if isinstance(categories, list) else [])]
    draft = build_draft(
        url=item.get("url"),
        guid=item.get("guid"),
        title=item.get("title"),
        summary=item.get("summary"),
        content=item.get("content"),
        author=item.get("author"),
        categories=[n for n in names if n],
        image_url=item.get("image_url"),
        published_at=item.get("published_at"),
    )
    modified = parse_datetime(item.get("updated_at"))
    return draft if draft is None or modified is None else dataclasses.replace(draft, modified_at=modified)
