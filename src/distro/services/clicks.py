"""Clicks and opens, counted honestly: what the redirector and the pixel record, and what the report reads.

A hit is recorded with its kind (:class:`~distro.models.ClickKind`, :class:`~distro.models.OpenKind`) by
the rules of :mod:`distro.scanners`, and only human hits are counted. The visitor is a keyed hash
(:func:`visitor_hash`), never the address, IP or user agent; its key is derived from the signing key and
the current period of ``tracking.visitor_key_days`` and is never stored, so a count of unique clickers is
per edition and period, and nothing links two periods or a hash to a person.

Recording never stands between a reader and the page: :func:`follow` logs a failure to record and still
answers with the stored URL. Only the lookup of that URL needs the database.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from distro.app import App
from distro.compose.social import article_link
from distro.errors import NotFound
from distro.models import ClickKind, LinkClick, OpenHit, OpenKind, utcnow
from distro.scanners import is_burst, machine_open_reason, scanner_reason
from distro.services.tracking import CLICK_SCOPE, OPEN_SCOPE, SOCIAL_SCOPE, read_reader
from distro.store import articles, clicks, editions
from distro.tokens import InvalidToken, read_fields

log = logging.getLogger(__name__)
VISITOR_CHARS = 32  # 128 bits of HMAC-SHA256, as hex
MAX_TOKEN = 200  # longer than any token distro makes: refused before any HMAC


@dataclass(frozen=True, slots=True)
class Target:
    """Where a tracked link leads, and what it counts for."""

    url: str
    scope: str  # what the visitor hash is per: "edition:<slug>" or "social:<article id>:<platform>"
    edition: str | None = None
    link_id: int | None = None
    article_id: int | None = None
    platform: str | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    """What a request says about its sender, read by the web face; none of it is stored."""

    client_ip: str
    user_agent: str
    head: bool = False
    reader: str | None = None  # the ``?u=`` token of a per-reader link


def visitor_hash(key: bytes, visit: Visit, scope: str, *, now: datetime, days: int) -> str:
    """A truncated HMAC-SHA256 of (IP, user agent, scope) under a key that exists for one period only.

    The period key is HMAC(signing key, period number) and is recomputed per hit, never stored; the same
    visitor in the next period, or in another edition, is another hash."""
    period = int(now.timestamp()) // (days * 86400)
    period_key = hmac.new(bytes(key), f"visitor:{period}".encode(), hashlib.sha256).digest()
    data = "\n".join((visit.client_ip, visit.user_agent, scope)).encode("utf-8", "replace")
    return hmac.new(period_key, data, hashlib.sha256).hexdigest()[:VISITOR_CHARS]


def resolve(app: App, token: str) -> Target | None:
    """The stored target ``token`` names, or None (forged, altered, truncated, another scope, unknown):
    the redirector never sends anyone to a URL it did not store."""
    if len(token) > MAX_TOKEN:
        return None
    try:
        edition, position = read_fields(app.signing_key, CLICK_SCOPE, token, 2)
    except InvalidToken:
        return _social(app, token)
    link = clicks.link_at(app.engine, edition, int(position)) if position.isdigit() else None
    if link is None:
        return None
    return Target(link.url, f"edition:{edition}", edition=edition, link_id=link.id)


def _social(app: App, token: str) -> Target | None:
    try:
        article_id, platform = read_fields(app.signing_key, SOCIAL_SCOPE, token, 2)
    except InvalidToken:
        return None
    if not article_id.isdigit() or not clicks.has_social_post(app.engine, int(article_id), platform):
        return None
    article = articles.by_ids(app.engine, [int(article_id)]).get(int(article_id))
    if article is None:
        return None
    url = article_link(article.url, platform)
    return Target(url, f"social:{article_id}:{platform}", article_id=article.id, platform=platform)


def follow(app: App, token: str, visit: Visit, now: datetime | None = None) -> str | None:
    """The URL to redirect to (None: not ours, answer 404), with the hit recorded if it can be."""
    target = resolve(app, token)
    if target is None:
        return None
    try:
        record_click(app, target, visit, now)
    except SQLAlchemyError:
        log.exception("a click on %s could not be recorded; redirected anyway", target.scope)
    return target.url


def click_kind(visit: Visit) -> ClickKind:
    """Rules 1-3 of :mod:`distro.scanners`, which need nothing but the request."""
    if visit.head:
        return ClickKind.HEAD
    return ClickKind.SCANNER if scanner_reason(visit.user_agent) else ClickKind.HUMAN


def record_click(app: App, target: Target, visit: Visit, now: datetime | None = None) -> ClickKind:
    """Store one hit on ``target`` and return its kind, after the burst rule (which may also discount
    this visitor's hits of the last ``scanner_burst_seconds``, stored before the burst showed)."""
    now = now or utcnow()
    tracking = app.settings.tracking
    visitor = visitor_hash(app.signing_key, visit, target.scope, now=now, days=tracking.visitor_key_days)
    kind = click_kind(visit)
    subscriber = read_reader(app, target.edition, visit.reader) if target.edition else None
    clicks.add_click(
        app.engine,
        LinkClick(
            link_id=target.link_id,
            article_id=target.article_id,
            platform=target.platform,
            visitor=visitor,
            kind=kind,
            clicked_at=now,
            subscriber_id=subscriber,
        ),
    )  # committed first: of racing requests, the last to look below sees every one of them
    if target.edition is None or tracking.scanner_burst_seconds <= 0:
        return kind
    since = now - timedelta(seconds=tracking.scanner_burst_seconds)
    distinct = clicks.distinct_links_since(app.engine, visitor, since)
    if distinct > 1 and is_burst(distinct, clicks.link_count(app.engine, target.edition)):
        clicks.mark_burst(app.engine, visitor, since)
        return ClickKind.BURST if kind is ClickKind.HUMAN else kind
    return kind


def open_edition_of(app: App, token: str) -> str | None:
    """The edition an open pixel's token names, if it is a stored edition's."""
    if len(token) > MAX_TOKEN:
        return None
    try:
        (edition,) = read_fields(app.signing_key, OPEN_SCOPE, token, 1)
    except InvalidToken:
        return None
    return edition if editions.find(app.engine, edition) is not None else None


def record_open(app: App, edition: str, visit: Visit, now: datetime | None = None) -> OpenKind:
    """Store one pixel hit: a machine open when :func:`~distro.scanners.machine_open_reason` says so."""
    now = now or utcnow()
    if visit.head:
        kind = OpenKind.HEAD
    else:
        machine = machine_open_reason(visit.user_agent, visit.client_ip)
        kind = OpenKind.MACHINE if machine else OpenKind.HUMAN
    days = app.settings.tracking.visitor_key_days
    hit = OpenHit(
        edition=edition,
        visitor=visitor_hash(app.signing_key, visit, f"edition:{edition}", now=now, days=days),
        kind=kind,
        opened_at=now,
        subscriber_id=read_reader(app, edition, visit.reader),
    )
    clicks.add_open(app.engine, hit)
    return kind


def opened(app: App, token: str, visit: Visit, now: datetime | None = None) -> bool:
    """Record a pixel hit; False when the token is not an edition's (answer 404). A failure to record is
    logged, and the pixel is answered anyway."""
    edition = open_edition_of(app, token)
    if edition is None:
        return False
    try:
        record_open(app, edition, visit, now)
    except SQLAlchemyError:
        log.exception("an open of %s could not be recorded", edition)
    return True


# -- the report's figures ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkClicks:
    """One link of an edition: human clicks and distinct human clickers."""

    index: int  # the link's number in the edition (from 1, in the order it first appeared)
    url: str  # where it leads, UTM-tagged
    title: str | None  # the story's title, else the link's text
    article_id: int | None
    clicks: int
    unique: int


@dataclass(frozen=True, slots=True)
class ClickTotals:
    """An edition's clicks: human ``clicks`` and distinct human clickers (``unique``, over every link),
    and the hits not counted, by rule (``head``, ``scanner``, ``burst``)."""

    clicks: int
    unique: int
    discounted: dict[str, int]


@dataclass(frozen=True, slots=True)
class OpenTotals:
    """An edition's pixel hits (``tracking.opens``): human opens and distinct human openers, and machine
    opens (Apple's Mail Privacy Protection, image proxies, scanners), which say nothing about reading."""

    opens: int
    unique: int
    machine: int


@dataclass(frozen=True, slots=True)
class PlatformClicks:
    platform: str
    clicks: int
    unique: int  # distinct clickers per post, summed over posts


def _edition(app: App, digest_id: int) -> tuple[str, list[int]]:
    found = clicks.edition_of(app.engine, digest_id)
    if found is None:
        raise NotFound(f"no edition {digest_id}")
    return found


def clicks_of(app: App, digest_id: int) -> list[LinkClicks]:
    """Each link of the edition (every variant's), in order, with its human clicks and unique clickers;
    NotFound for an unknown edition."""
    slug, _ = _edition(app, digest_id)
    return [
        LinkClicks(link.position, link.url, link.title, link.article_id, counted.total, counted.unique)
        for link, counted in clicks.link_counts(app.engine, slug)
    ]


def click_totals(app: App, digest_id: int) -> ClickTotals:
    """The edition's human clicks and unique clickers, and what was not counted, by rule; NotFound for an
    unknown edition."""
    found = totals_by_edition(app, [digest_id])
    if digest_id not in found:
        raise NotFound(f"no edition {digest_id}")
    return found[digest_id]


def totals_by_edition(app: App, digest_ids: Sequence[int]) -> dict[int, ClickTotals]:
    """:func:`click_totals` of several editions in one query (a trend across editions); an unknown id is
    left out."""
    slugs = clicks.slugs_of(app.engine, digest_ids)
    counted = clicks.edition_counts(app.engine, list(slugs.values()))
    totals: dict[int, ClickTotals] = {}
    for digest_id, slug in slugs.items():
        kinds = counted.get(slug, {})
        human = kinds.get(str(ClickKind.HUMAN), clicks.Counted(0, 0))
        discounted = {
            str(k): kinds[str(k)].total for k in ClickKind if k is not ClickKind.HUMAN and str(k) in kinds
        }
        totals[digest_id] = ClickTotals(human.total, human.unique, discounted)
    return totals


def opens_of(app: App, digest_id: int) -> OpenTotals:
    """The edition's human and machine opens (all zero unless ``tracking.opens`` was on when it went out)."""
    slug, _ = _edition(app, digest_id)
    kinds = clicks.open_counts(app.engine, slug)
    human = kinds.get(str(OpenKind.HUMAN), clicks.Counted(0, 0))
    machine = kinds.get(str(OpenKind.MACHINE), clicks.Counted(0, 0))
    return OpenTotals(human.total, human.unique, machine.total)


def social_clicks_of_article(app: App, article_id: int) -> list[PlatformClicks]:
    """Human clicks per platform on the article's social posts (``tracking.social_links``)."""
    return _per_platform(clicks.social_counts(app.engine, [article_id]))


def social_clicks_of_edition(app: App, digest_id: int) -> list[PlatformClicks]:
    """Human clicks per platform on the social posts of the edition's stories."""
    _, article_ids = _edition(app, digest_id)
    return _per_platform(clicks.social_counts(app.engine, article_ids)) if article_ids else []


def _per_platform(counted: dict[str, clicks.Counted]) -> list[PlatformClicks]:
    return [PlatformClicks(p, c.total, c.unique) for p, c in sorted(counted.items())]
