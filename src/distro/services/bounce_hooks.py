"""``POST /hooks/bounces/<provider>``: an ESP's bounce and complaint webhook, verified the way that
provider documents it (:mod:`distro.feedback.providers`), then each event through the one policy
(:func:`distro.services.bounces.record_feedback`).

Answers: 200 with what each event did; 401 for an unsigned, forged or stale call (nothing changed); 400 for
a proven call out of the provider's shape; 409 for a replayed signature; 503 when the provider is not
configured; 404 for a provider distro does not know; 502 when the SNS signing certificate (or the
confirmation URL) cannot be fetched, so SNS retries. A replay key is remembered only after the events are
recorded, so a call that failed half way (the database went away: 503) is accepted again when the provider
retries it; the events themselves count once whatever happens (``report_key``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from distro.app import App
from distro.errors import DistroError, SourceError
from distro.feedback.providers import mailgun, postmark, sendgrid, ses
from distro.feedback.providers.call import ForgedCall, MalformedCall, NotConfigured, ProviderCall, Reader
from distro.services.bounces import record_feedback
from distro.store import webhook_signatures

PROVIDERS = ("ses", "postmark", "mailgun", "sendgrid")
log = logging.getLogger("distro.bounces")


@dataclass(frozen=True, slots=True)
class HookAnswer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


def _reader(app: App, provider: str, path_secret: str | None) -> Reader | None:
    if provider == "ses":
        return partial(
            ses.read, fetch_certificate=app.http_get, bounce_address=app.settings.email.bounce_address
        )
    if provider == "postmark":
        return partial(postmark.read, path_secret=path_secret)
    return {"mailgun": mailgun.read, "sendgrid": sendgrid.read}.get(provider)


def receive_bounce_hook(
    app: App,
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    path_secret: str | None = None,
) -> HookAnswer:
    """Verify one webhook call and act on its events (see the module docstring for the answers)."""
    reader = _reader(app, provider, path_secret)
    if reader is None:
        return HookAnswer(
            404, {"error": f"unknown provider {provider[:40]!r}; known: {', '.join(PROVIDERS)}"}
        )
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        call = reader(app.settings.bounces, lowered, body, now)
    except ForgedCall as exc:
        log.warning("bounce hook refused", extra={"provider": provider, "reason": str(exc)})
        return HookAnswer(401, {"error": str(exc)})
    except MalformedCall as exc:
        return HookAnswer(400, {"error": str(exc)})
    except NotConfigured as exc:
        return HookAnswer(503, {"error": str(exc)})
    except SourceError as exc:  # the SNS signing certificate could not be fetched: SNS retries
        return HookAnswer(502, {"error": f"cannot verify the call: {exc}"})
    replay = _replay_digest(call)
    if replay is not None and webhook_signatures.seen(app.engine, replay, now=now):
        return HookAnswer(409, {"error": "replay: this call was already accepted"})
    answer = _act(app, call)
    if replay is not None:
        expires = now + timedelta(seconds=2 * app.settings.bounces.max_age_seconds)
        webhook_signatures.remember(app.engine, replay, expires_at=expires, now=now)
    return answer


def _replay_digest(call: ProviderCall) -> str | None:
    return hashlib.sha256(call.replay_key.encode()).hexdigest() if call.replay_key else None


def _act(app: App, call: ProviderCall) -> HookAnswer:
    if call.confirm_url is not None:
        try:
            app.http_get(call.confirm_url)  # the SNS subscription becomes active
        except DistroError as exc:
            return HookAnswer(502, {"error": f"SNS subscription confirmation failed: {exc}"})
        return HookAnswer(200, {"confirmed": True, "events": []})
    outcomes = [record_feedback(app, event).as_dict() for event in call.events]
    return HookAnswer(200, {"events": outcomes})
