"""What became of an edition (``distro report``, the desk's report pages): recipients, sent, bounced,
complaints, unsubscribes it caused, and what readers clicked, all in aggregate.

The figures come from rows other stages wrote: deliveries and their outcomes (the outbox), bounce and
complaint events (:mod:`distro.services.bounces`), unsubscribes through the edition's links
(:mod:`distro.services.preferences`) and human clicks (:mod:`distro.services.clicks`, which leaves link
scanners and proxies out). Rates are over messages sent, so a list with bounces does not look better than
it is: click rate = unique clickers / sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from distro.app import App
from distro.errors import InvalidInput, NotFound
from distro.models import DeliveryStatus, Digest
from distro.services import clicks
from distro.store import bounce_events, delivery_log, editions, unsubscribe_events
from distro.store.editions import TEST_KEY_PREFIX

TREND_EDITIONS = 12


@dataclass(frozen=True, slots=True)
class LinkFigures:
    index: int
    title: str | None  # the article's title when the link is a story's
    url: str
    clicks: int  # human clicks
    unique: int  # unique human clickers


@dataclass(frozen=True, slots=True)
class EditionReport:
    slug: str
    newsletter: str
    subject: str
    queued_at: datetime | None
    recipients: int
    sent: int
    failed: int
    pending: int
    suppressed: int
    hard_bounces: int  # addresses: refused at send time or bounced later with a hard bounce
    soft_bounces: int
    complaints: int
    unsubscribes: int  # readers who left through this edition's unsubscribe links
    clicks: int = 0
    unique_clickers: int = 0
    links: list[LinkFigures] = field(default_factory=list)
    opens: int | None = None  # human opens (None: opens are not counted, tracking.opens is off)
    machine_opens: int | None = None  # Apple Mail Privacy Protection and image proxies
    social_clicks: dict[str, int] = field(default_factory=dict)  # per platform, tracking.social_links

    @property
    def click_rate(self) -> float:
        """Unique clickers over messages sent (0 when nothing was sent)."""
        return self.unique_clickers / self.sent if self.sent else 0.0

    @property
    def unsubscribe_rate(self) -> float:
        return self.unsubscribes / self.sent if self.sent else 0.0


def _edition(app: App, slug: str | None, newsletter: str | None) -> Digest:
    if slug is not None:
        found = editions.find(app.engine, slug)
        if found is None:
            raise NotFound(f"no edition {slug!r}; `distro report --trend` lists the sent ones")
        return found
    if newsletter is not None and all(n.slug_prefix != newsletter for n in app.settings.all_newsletters):
        known = ", ".join(n.slug_prefix for n in app.settings.all_newsletters)
        raise InvalidInput(f"unknown newsletter {newsletter!r} (one of {known})")
    latest = editions.sent_editions(app.engine, newsletter or app.settings.digest.slug_prefix, limit=1)
    if not latest:
        raise NotFound("no edition has been sent yet")
    return latest[0]


def edition_report(app: App, slug: str | None = None, *, newsletter: str | None = None) -> EditionReport:
    """One edition's figures: ``slug``, else the newsletter's (default: the main one) latest sent edition."""
    digest = _edition(app, slug, newsletter)
    digest_id = digest.id or 0
    by_status = delivery_log.edition_outcomes(app.engine, digest_id, besides_prefix=TEST_KEY_PREFIX)

    def count(*states: DeliveryStatus) -> int:
        return sum(by_status.get(state, (0, 0))[0] for state in states)

    kinds = bounce_events.came_back(app.engine, digest_id, at_send_too=True)
    report = EditionReport(
        slug=digest.slug,
        newsletter=digest.newsletter,
        subject=digest.subject,
        queued_at=digest.queued_at,
        recipients=digest.recipients,
        sent=count(DeliveryStatus.SENT),
        failed=count(DeliveryStatus.FAILED),
        pending=count(DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.HELD),
        suppressed=count(DeliveryStatus.SUPPRESSED),
        hard_bounces=kinds.get("hard", 0),
        soft_bounces=kinds.get("soft", 0),
        complaints=kinds.get("complaint", 0),
        unsubscribes=unsubscribe_events.counts(app.engine, [digest.slug]).get(digest.slug, 0),
    )
    return _with_clicks(app, digest, report)


def _with_clicks(app: App, digest: Digest, report: EditionReport) -> EditionReport:
    """The click, open and social figures (:mod:`distro.services.clicks`: people only, scanners out)."""
    digest_id = digest.id or 0
    totals = clicks.totals_by_edition(app, [digest_id]).get(digest_id)
    opens = clicks.opens_of(app, digest_id) if app.settings.tracking.opens else None
    return replace(
        report,
        clicks=totals.clicks if totals else 0,
        unique_clickers=totals.unique if totals else 0,
        links=[
            LinkFigures(c.index, c.title, c.url, c.clicks, c.unique) for c in clicks.clicks_of(app, digest_id)
        ],
        opens=opens.opens if opens else None,
        machine_opens=opens.machine if opens else None,
        social_clicks={p.platform: p.clicks for p in clicks.social_clicks_of_edition(app, digest_id)},
    )


@dataclass(frozen=True, slots=True)
class TrendPoint:
    slug: str
    queued_at: datetime | None
    recipients: int
    sent: int
    click_rate: float
    unsubscribes: int
    complaints: int
    hard_bounces: int


def trend(
    app: App, *, newsletter: str | None = None, editions_back: int = TREND_EDITIONS
) -> list[TrendPoint]:
    """The last ``editions_back`` sent editions of a newsletter (default: the main one), oldest first."""
    prefix = newsletter or app.settings.digest.slug_prefix
    if all(n.slug_prefix != prefix for n in app.settings.all_newsletters):
        raise InvalidInput(f"unknown newsletter {prefix!r}")
    points = []
    for digest in reversed(editions.sent_editions(app.engine, prefix, limit=editions_back)):
        r = edition_report(app, digest.slug)
        points.append(
            TrendPoint(
                r.slug,
                r.queued_at,
                r.recipients,
                r.sent,
                r.click_rate,
                r.unsubscribes,
                r.complaints,
                r.hard_bounces,
            )
        )
    return points
