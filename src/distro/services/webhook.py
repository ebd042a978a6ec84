"""The CMS webhook as a use case: verify, refuse replays, parse, store (the web route only translates).

A signature is good for ``web.webhook_max_age_seconds`` either side of its timestamp, so a captured request
could be sent again inside that window (reverting a title to the version it carried). Each accepted
signature is therefore remembered, as its SHA-256 in ``seenwebhooksignature``, until its window ends; the
same signature again is refused with 409. The primary key arbitrates two copies arriving at once. If
storing fails after the signature was recorded, the record is dropped again so the CMS's retry of the very
same request is not taken for a replay. Expired rows are purged a bounded batch per request, so no job is
needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from distro.app import App
from distro.services.articles import store_pushed
from distro.sources.webhook import WebhookRejected, parse_payload, signature_digest, verify
from distro.store import webhook_signatures

WEBHOOK_SOURCE = "webhook"  # the Source row that pushed articles belong to


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


def remember_signature(app: App, signature: str, *, expires_at: datetime, now: datetime) -> bool:
    """Record an accepted signature until ``expires_at``; False when it was already recorded (a replay)."""
    return webhook_signatures.remember(
        app.engine, signature_digest(signature), expires_at=expires_at, now=now
    )


def forget_signature(app: App, signature: str) -> None:
    """Drop a recorded signature (its request was not stored after all, so a retry must be let in)."""
    webhook_signatures.forget(app.engine, signature_digest(signature))


def receive_webhook(
    app: App, body: bytes, *, timestamp: str | None, signature: str | None, now: datetime
) -> WebhookAnswer:
    """Answer one ``POST /hooks/articles``: 202 with counts, or a 4xx (503: unconfigured) saying why."""
    secret = app.settings.web.webhook_secret
    max_age = app.settings.web.webhook_max_age_seconds
    try:
        sent_at = verify(
            secret.get_secret_value() if secret else None,
            body,
            timestamp,
            signature,
            now=now.timestamp(),
            max_age=max_age,
        )
        drafts = parse_payload(body, sent_at)
    except WebhookRejected as exc:
        return WebhookAnswer(exc.status, {"error": exc.reason})
    assert signature is not None  # verify refused a missing one
    window_end = datetime.fromtimestamp(sent_at, UTC) + timedelta(seconds=max_age + 1)
    if not remember_signature(app, signature, expires_at=window_end, now=now):
        return WebhookAnswer(
            409, {"error": "replayed request: this signature was already accepted; sign each send anew"}
        )
    try:
        report = store_pushed(app, WEBHOOK_SOURCE, "webhook", drafts)
    except BaseException:
        forget_signature(app, signature)
        raise
    counts = {"new": report.new, "updated": report.updated, "stale": report.stale}
    return WebhookAnswer(202, {"stored": len(drafts), **counts})
