"""The CMS webhook: a signed JSON article pushed by the publication's CMS.

The CMS sends ``POST /hooks/articles`` with two headers:

* ``X-Distro-Timestamp``: the send time in Unix seconds;
* ``X-Distro-Signature``: ``sha256=`` + hex HMAC-SHA256 of ``timestamp + "." + raw body`` with the shared
  secret (``DISTRO_WEB__WEBHOOK_SECRET``).

Signing the timestamp with the body lets a stale request (older than ``web.webhook_max_age_seconds``) be
refused, so a captured request cannot be replayed later. The body is one article object, or
``{"articles": [...]}``; each becomes an :class:`ArticleDraft` through the same cleaning as every source.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from distro.sources.base import ArticleDraft
from distro.sources.draft import build_draft

SIGNATURE_HEADER = "X-Distro-Signature"
TIMESTAMP_HEADER = "X-Distro-Timestamp"
MAX_ARTICLES = 100


class WebhookRejected(Exception):
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
) -> None:
    """Raise WebhookRejected unless the request is signed with ``secret`` within ``max_age`` seconds."""
    if not secret:
        raise WebhookRejected(503, "the webhook is not configured; set DISTRO_WEB__WEBHOOK_SECRET")
    if not signature:
        raise WebhookRejected(401, f"missing {SIGNATURE_HEADER} header (sha256=<hex HMAC of timestamp.body>)")
    if not timestamp or not timestamp.strip().isdigit():
        raise WebhookRejected(400, f"missing or invalid {TIMESTAMP_HEADER} header (Unix seconds)")
    if abs(now - int(timestamp)) > max_age:
        raise WebhookRejected(401, f"stale {TIMESTAMP_HEADER}: more than {max_age} s from the server's clock")
    if not hmac.compare_digest(sign(secret, timestamp.strip(), body), signature.strip()):
        raise WebhookRejected(401, f"bad {SIGNATURE_HEADER}: it does not match the body and timestamp")


def parse_payload(body: bytes) -> list[ArticleDraft]:
    """The drafts in a webhook body; raises WebhookRejected (400) naming the field to fix."""
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
        drafts.append(draft)
    return drafts


def payload_to_draft(item: dict[str, Any]) -> ArticleDraft | None:
    """One article object: url (required, canonical), title, summary, content, author, section or
    categories, image_url, published_at (ISO 8601), guid (the id the feed uses, when the CMS knows it)."""
    categories = item.get("categories")
    names = [item.get("section"), *(categories if isinstance(categories, list) else [])]
    return build_draft(
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
