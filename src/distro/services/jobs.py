"""The main job and the scheduled jobs, each a short composition of the use cases."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from distro.app import App
from distro.db import upgrade
from distro.dispatch import DispatchReport
from distro.errors import DistroError
from distro.models import utcnow
from distro.services.articles import IngestReport
from distro.services.delivery import dispatch
from distro.services.digest_send import SentEdition, send_edition
from distro.services.ingest import ingest
from distro.services.social import plan_social

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    ingested: list[IngestReport] = field(default_factory=list)
    digests: dict[str, SentEdition] = field(default_factory=dict)  # every newsletter's, by slug prefix
    social_rows: int = 0
    dispatched: dict[str, DispatchReport] = field(default_factory=dict)


def ingest_all(app: App, *, strict: bool) -> list[IngestReport]:
    """Poll every configured source; with ``strict`` the first failure stops the job before any send."""
    reports = ingest(app)
    for report in reports:
        if report.error:
            if strict:
                raise DistroError(report.error)  # already names the source, file or URL, and the line
            log.warning("ingest failed: %s", report.error)
    return reports


def run_once(app: App, now: datetime | None = None) -> RunSummary:
    """Ingest, compose and queue every newsletter's edition, plan social posts, dispatch everything due.

    Safe to repeat: every step is idempotent, so a second run sends nothing twice. Each edition is
    composed again at send time (:func:`send_edition` with ``refresh``), as the scheduler does.
    """
    upgrade(app.engine)
    summary = RunSummary(ingested=ingest_all(app, strict=True))
    now = now or utcnow()  # after ingest, so what was just stored is inside the digest window
    for newsletter in app.settings.all_newsletters:
        summary.digests[newsletter.slug_prefix] = send_edition(app, newsletter, now, refresh=True)
    summary.social_rows = plan_social(app, now)
    summary.dispatched = dispatch(app)
    return summary
