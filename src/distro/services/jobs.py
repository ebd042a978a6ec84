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
from distro.services.delivery import dispatch
from distro.services.digest import DigestResult, compose_weekly, queue_digest
from distro.services.ingest import IngestReport, ingest
from distro.services.social import plan_social

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    ingested: list[IngestReport] = field(default_factory=list)
    digest: DigestResult | None = None  # the main digest's
    digest_rows: int = 0
    digests: dict[str, tuple[DigestResult, int]] = field(default_factory=dict)  # every newsletter's
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


def send_digest(
    app: App, now: datetime | None = None, newsletter: str | None = None
) -> tuple[DigestResult, int]:
    """Compose and queue this period's edition of ``newsletter`` (None: the main digest).

    An edition composed earlier (previewed, edited) is composed again first with its window moved on to
    now, so it carries the stories that arrived since; the editor's choices are kept.
    """
    scoped = app.for_newsletter(newsletter)
    result = compose_weekly(scoped, now, recompose=True, refresh=True)
    if result.digest is None:
        log.info("no %s edition: %s", scoped.settings.digest.slug_prefix, result.reason)
        return result, 0
    return result, queue_digest(scoped, result.digest)


def run_once(app: App, now: datetime | None = None) -> RunSummary:
    """Ingest, compose and queue every newsletter's edition, plan social posts, dispatch everything due.

    Safe to repeat: every step is idempotent, so a second run sends nothing twice.
    """
    upgrade(app.engine)
    summary = RunSummary(ingested=ingest_all(app, strict=True))
    now = now or utcnow()  # after ingest, so what was just stored is inside the digest window
    for newsletter in app.settings.all_newsletters:
        summary.digests[newsletter.slug_prefix] = send_digest(app, now, newsletter.slug_prefix)
    summary.digest, summary.digest_rows = summary.digests[app.settings.digest.slug_prefix]
    summary.social_rows = plan_social(app, now)
    summary.dispatched = dispatch(app)
    return summary
