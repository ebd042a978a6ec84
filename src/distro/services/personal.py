"""Per-subscriber values of a digest message: signed unsubscribe links, a stable Message-ID, the Date."""

from __future__ import annotations

import hashlib
import hmac
from email.utils import format_datetime
from urllib.parse import quote

from distro.app import App
from distro.compose.message import Personal
from distro.models import utcnow
from distro.services.tracking import reader_token
from distro.tokens import make_token

UNSUBSCRIBE_SCOPE = "unsubscribe"
PREFERENCES_SCOPE = "preferences"


def unsubscribe_url(app: App, subscriber_id: int) -> str:
    token = make_token(app.signing_key, UNSUBSCRIBE_SCOPE, subscriber_id)
    return f"{app.settings.web.public_url.rstrip('/')}/unsubscribe/{token}"


def preferences_url(app: App, subscriber_id: int) -> str:
    """A signed link to the subscriber's own preferences page (a token of its own scope)."""
    token = make_token(app.signing_key, PREFERENCES_SCOPE, subscriber_id)
    return f"{app.settings.web.public_url.rstrip('/')}/preferences/{token}"


def unsubscribe_mailto(app: App, subscriber_id: int) -> str | None:
    mailbox = app.settings.email.unsubscribe_mailto
    if not mailbox:
        return None
    token = make_token(app.signing_key, UNSUBSCRIBE_SCOPE, subscriber_id)
    return f"mailto:{mailbox}?subject={quote('unsubscribe ' + token)}"


def message_id(app: App, digest_slug: str, delivery_id: int) -> str:
    """Stable per delivery, so a retried message carries the same id and receivers can deduplicate it."""
    domain = app.settings.email.from_address.rpartition("@")[2] or "localhost"
    tag = hmac.new(app.signing_key, f"{digest_slug}:{delivery_id}".encode(), hashlib.sha256).hexdigest()[:12]
    return f"<{digest_slug}.{delivery_id}.{tag}@{domain}>"


_DATE_CACHE: dict[str, object] = {"second": None, "text": ""}


def _date_now() -> str:
    """The RFC 5322 Date, formatted once per second (it is the same for every message sent in it)."""
    now = utcnow().replace(microsecond=0)
    if _DATE_CACHE["second"] != now:
        _DATE_CACHE["second"], _DATE_CACHE["text"] = now, format_datetime(now)
    return str(_DATE_CACHE["text"])


def personal_for(
    app: App,
    *,
    digest_slug: str,
    subscriber_id: int,
    email: str,
    name: str | None,
    delivery_id: int,
    newsletter: str | None = None,
) -> Personal:
    """The per-reader values of one message. With several newsletters, the unsubscribe link names the
    message's own (``?list=<slug_prefix>``), so one click stops that newsletter, not every one; it always
    names the edition (``e=<slug>``), so the edition's report counts the readers who left through it."""
    base = app.settings.web.public_url.rstrip("/")
    unsubscribe = make_token(app.signing_key, UNSUBSCRIBE_SCOPE, subscriber_id)  # once for both forms
    mailbox = app.settings.email.unsubscribe_mailto
    one_list = f"list={newsletter}&" if newsletter and len(app.settings.all_newsletters) > 1 else ""
    return Personal(
        email=email,
        name=name,
        # ?e= names the edition, so a reader who leaves is counted in its report (distro report)
        unsubscribe_url=f"{base}/unsubscribe/{unsubscribe}?{one_list}e={quote(digest_slug)}",
        unsubscribe_mailto=f"mailto:{mailbox}?subject={quote('unsubscribe ' + unsubscribe)}"
        if mailbox
        else None,
        message_id=message_id(app, digest_slug, delivery_id),
        date=_date_now(),
        preferences_url=f"{base}/preferences/{make_token(app.signing_key, PREFERENCES_SCOPE, subscriber_id)}",
        reader=reader_token(app, digest_slug, subscriber_id),  # None unless tracking.per_reader
    )
