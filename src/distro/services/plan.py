"""Posting plans: when each social post goes out, and editors' holds.

A post's send time is fixed when its delivery row is enqueued (``next_attempt_at``), so every worker honours
the plan without coordination: the outbox simply does not hand a row out before its time. The slot is the
earliest moment at or after ``now + delay`` that is outside the account's quiet hours (local time, DST
aware), at least ``min_spacing_minutes`` from every other post of the account, and keeps any sliding hour
at ``max_per_hour`` posts or fewer. A held row (``DeliveryStatus.HELD``) is never claimed; releasing it
gives it the next free slot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection, Engine

from distro.errors import InvalidInput, NotFound
from distro.models import DeliveryStatus, utcnow
from distro.services.activity import record, record_activity
from distro.services.desk_clock import local_time
from distro.settings import PostingPlan, Settings
from distro.store import deliveries, social_posts

HOUR = timedelta(hours=1)
_MAX_STEPS = 10_000  # each step moves the candidate forward; this only guards against a bad plan


def plan_for(settings: Settings, channel: str) -> PostingPlan:
    """The plan of the account behind ``channel`` ("x" is the first X account, "x:security" another)."""
    platform, _, name = channel.partition(":")
    section: Any = getattr(settings, platform, None)
    if section is None or not hasattr(section, "posting"):
        return PostingPlan()
    if not name:
        first: PostingPlan = section.posting
        return first
    extra = next((a for a in section.accounts if a.name == name), None)
    return extra.posting if extra is not None else PostingPlan()


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``day`` at ``at`` in ``zone`` as UTC; a wall time skipped by DST maps to the instant after the gap."""
    return datetime.combine(day, at).replace(tzinfo=zone).astimezone(UTC)


def quiet_until(plan: PostingPlan, when: datetime) -> datetime | None:
    """The end of the quiet period ``when`` falls in, or None when posting is allowed at ``when``."""
    if plan.quiet_start is None or plan.quiet_end is None:
        return None
    zone = ZoneInfo(plan.timezone)
    start, end = _clock(plan.quiet_start), _clock(plan.quiet_end)
    local = when.astimezone(zone)
    now_t = local.time().replace(tzinfo=None)
    quiet = (start <= now_t < end) if start < end else (now_t >= start or now_t < end)
    if not quiet:
        return None
    day = local.date() if now_t < end else local.date() + timedelta(days=1)
    return _local(day, end, zone)


def next_slot(plan: PostingPlan, earliest: datetime, taken: Sequence[datetime]) -> datetime:
    """The first moment at or after ``earliest`` that the plan allows, given the account's ``taken`` times."""
    spacing = timedelta(minutes=plan.min_spacing_minutes)
    t = earliest
    for _ in range(_MAX_STEPS):
        moved = quiet_until(plan, t)
        if moved is None and spacing:
            close = [s for s in taken if abs(s - t) < spacing]
            moved = max(close) + spacing if close else None
        if moved is None and plan.max_per_hour is not None:
            moved = _rate_blocked(plan.max_per_hour, t, taken)
        if moved is None:
            return t
        t = max(moved, t + timedelta(microseconds=1))
    raise InvalidInput(f"posting plan leaves no slot after {earliest.isoformat()}; check its settings")


def _rate_blocked(limit: int, t: datetime, taken: Sequence[datetime]) -> datetime | None:
    """Where ``t`` must move so that no sliding hour containing it holds more than ``limit`` posts.

    A fullest hour containing ``t`` can be taken to start at ``t`` or at a taken time in (t - 1 h, t].
    """
    near = sorted(s for s in taken if t - HOUR < s < t + HOUR)
    for start in [s for s in near if s <= t] + [t]:
        inside = sum(1 for s in near if start <= s < start + HOUR)
        if inside + 1 > limit:
            return start + HOUR
    return None


def _taken(connection: Connection, channel: str, now: datetime) -> list[datetime]:
    """The account's posts sent in the last hour or still to send (an overdue one counts as ``now``)."""
    return deliveries.taken_times(connection, channel, now=now, sent_since=now - HOUR)


def schedule_rows(
    engine: Engine, settings: Settings, rows: Iterable[dict[str, Any]], now: datetime | None = None
) -> list[dict[str, Any]]:
    """Give each new social delivery row its ``next_attempt_at`` by its account's plan.

    Rows whose key already exists are left out (enqueue is idempotent; their time is already fixed).
    """
    now = now or utcnow()
    rows = list(rows)
    with engine.connect() as connection:
        existing = deliveries.existing_keys(connection, [r["key"] for r in rows])
        fresh = [r for r in rows if r["key"] not in existing]
        by_channel: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in fresh:
            by_channel[row["channel"]].append(row)
        for channel, group in by_channel.items():
            plan = plan_for(settings, channel)
            taken = _taken(connection, channel, now)
            for row in group:
                when = next_slot(plan, now + timedelta(minutes=plan.delay_minutes), taken)
                row["next_attempt_at"] = when
                taken.append(when)
    return fresh


def find_deliveries(
    engine: Engine, *, article_id: int, platform: str, account: str | None = None
) -> list[int]:
    """Delivery ids of an article's posts on ``platform`` (optionally one account)."""
    return social_posts.delivery_ids(engine, article_id=article_id, platform=platform, account=account)


def hold(engine: Engine, delivery_ids: Sequence[int], *, actor: str | None = None) -> int:
    """Hold pending social posts back: they stay queued but are never claimed. Returns how many changed;
    with ``actor``, each one asked for is in the activity record."""
    _check(engine, delivery_ids, allowed={DeliveryStatus.PENDING, DeliveryStatus.HELD}, verb="hold")
    changed = deliveries.hold(engine, delivery_ids, utcnow())
    if changed:
        for delivery_id in delivery_ids:
            record(engine, actor=actor, action="post.hold", subject=f"post {delivery_id}")
    return changed


def release(
    engine: Engine,
    settings: Settings,
    delivery_ids: Sequence[int],
    now: datetime | None = None,
    *,
    actor: str | None = None,
) -> int:
    """Release held posts into the queue at their account's next free slot. Returns how many changed;
    with ``actor``, each one released is in the activity record."""
    now = now or utcnow()
    _check(engine, delivery_ids, allowed={DeliveryStatus.HELD, DeliveryStatus.PENDING}, verb="release")
    changed = 0
    with engine.begin() as connection:
        for row in deliveries.held(connection, delivery_ids):
            plan = plan_for(settings, row.channel)
            when = next_slot(plan, max(now, row.next_attempt_at), _taken(connection, row.channel, now))
            released = deliveries.release(connection, row.id, at=when, now=now)
            if released and actor is not None:
                at = f"at {local_time(settings, when)}"
                record_activity(
                    connection, actor=actor, action="post.release", subject=f"post {row.id}", detail=at
                )
            changed += released
    return changed


def _check(engine: Engine, delivery_ids: Sequence[int], *, allowed: set[str], verb: str) -> None:
    """Refuse unknown ids, emails, and posts past the point where holding means anything."""
    if not delivery_ids:
        raise InvalidInput(f"nothing to {verb}: give a delivery id, or --article and --platform")
    found = deliveries.states(engine, delivery_ids)
    for delivery_id in delivery_ids:
        row = found.get(delivery_id)
        if row is None:
            raise NotFound(f"no delivery {delivery_id}; see `distro log`")
        if row.social_post_id is None:
            raise InvalidInput(f"delivery {delivery_id} is not a social post; only posts can be held")
        if row.status not in allowed:
            raise InvalidInput(f"cannot {verb} delivery {delivery_id}: it is already {row.status}")
