"""Posting plans (delay, quiet hours across midnight and DST, N per hour, spacing) and editors' holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from pydantic import ValidationError

from distro import outbox
from distro.app import App, build_app
from distro.db import upgrade
from distro.errors import NotFound
from distro.models import Delivery, DeliveryStatus
from distro.services import plan
from distro.services.ingest import ingest
from distro.services.social import plan_social
from distro.settings import PostingPlan, Settings

LONDON = ZoneInfo("Europe/London")
NIGHT = PostingPlan(quiet_start="22:00", quiet_end="07:00", timezone="Europe/London")


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON).astimezone(UTC)  # type: ignore[misc]


def slots(
    posting: PostingPlan, start: datetime, count: int, taken: list[datetime] | None = None
) -> list[str]:
    """Plan ``count`` posts all asked for at ``start``; the slots as London wall-clock HH:MM."""
    taken = list(taken or [])
    out = []
    for _ in range(count):
        when = plan.next_slot(posting, start + timedelta(minutes=posting.delay_minutes), taken)
        taken.append(when)
        out.append(when.astimezone(LONDON).strftime("%d %H:%M"))
    return out


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        (london(2026, 1, 15, 23, 30), london(2026, 1, 16, 7, 0)),  # after the start: next morning
        (london(2026, 1, 16, 6, 59), london(2026, 1, 16, 7, 0)),  # before the end: this morning
        (london(2026, 1, 15, 22, 0), london(2026, 1, 16, 7, 0)),  # the start is quiet
        (london(2026, 1, 15, 21, 59), london(2026, 1, 15, 21, 59)),  # before the start: at once
        (london(2026, 1, 16, 7, 0), london(2026, 1, 16, 7, 0)),  # the end is not quiet
        (london(2026, 1, 15, 12, 0), london(2026, 1, 15, 12, 0)),
    ],
)
def test_quiet_hours_across_midnight(asked: datetime, expected: datetime) -> None:
    assert plan.next_slot(NIGHT, asked, []) == expected


def test_quiet_hours_follow_the_accounts_clock_across_dst() -> None:
    # Autumn: the night of 25-26 Oct 2025 is an hour longer; 07:00 GMT is 07:00 UTC (not 06:00).
    assert plan.next_slot(NIGHT, london(2025, 10, 25, 23, 30), []) == datetime(2025, 10, 26, 7, tzinfo=UTC)
    # Spring: the night of 29-30 Mar 2025 is an hour shorter; 07:00 BST is 06:00 UTC.
    assert plan.next_slot(NIGHT, london(2025, 3, 29, 23, 30), []) == datetime(2025, 3, 30, 6, tzinfo=UTC)
    # A quiet period inside the day, in New York, on the day its clocks go forward.
    lunch = PostingPlan(quiet_start="01:30", quiet_end="03:30", timezone="America/New_York")
    new_york = ZoneInfo("America/New_York")
    asked = datetime(2026, 3, 8, 1, 45, tzinfo=new_york)
    assert plan.next_slot(lunch, asked, []) == datetime(2026, 3, 8, 3, 30, tzinfo=new_york)


def test_at_most_n_posts_in_any_hour() -> None:
    noon = london(2026, 1, 15, 12, 0)
    assert slots(PostingPlan(max_per_hour=2), noon, 5) == [
        "15 12:00",
        "15 12:00",
        "15 13:00",
        "15 13:00",
        "15 14:00",
    ]
    # A post sent at 11:30 still counts for the hour that ends at 12:30.
    assert slots(PostingPlan(max_per_hour=2), noon, 2, [london(2026, 1, 15, 11, 30)]) == [
        "15 12:00",
        "15 12:30",
    ]


def test_spacing_between_posts_and_together_with_the_hourly_limit() -> None:
    noon = london(2026, 1, 15, 12, 0)
    assert slots(PostingPlan(min_spacing_minutes=15), noon, 3) == ["15 12:00", "15 12:15", "15 12:30"]
    # An already scheduled post at 12:05 pushes a new one to 12:20, not 11:50.
    assert slots(PostingPlan(min_spacing_minutes=15), noon, 1, [london(2026, 1, 15, 12, 5)]) == ["15 12:20"]
    both = PostingPlan(min_spacing_minutes=10, max_per_hour=3)
    assert slots(both, noon, 5) == ["15 12:00", "15 12:10", "15 12:20", "15 13:00", "15 13:10"]


def test_delay_quiet_hours_and_limit_together_roll_into_the_morning() -> None:
    evening = PostingPlan(
        delay_minutes=30, max_per_hour=2, quiet_start="22:00", quiet_end="07:00", timezone="Europe/London"
    )
    assert slots(evening, london(2026, 1, 15, 21, 0), 4) == ["15 21:30", "15 21:30", "16 07:00", "16 07:00"]


def test_a_bad_plan_is_refused_with_what_to_fix() -> None:
    with pytest.raises(ValidationError, match="quiet_start and quiet_end"):
        PostingPlan(quiet_start="22:00")
    with pytest.raises(ValidationError, match="unknown IANA timezone"):
        PostingPlan(timezone="Europe/Londn")
    with pytest.raises(ValidationError, match="quiet_end"):
        PostingPlan(quiet_start="22:00", quiet_end="7am")


@pytest.fixture
def planned(settings: Settings, clock: time_machine.Traveller) -> Iterator[App]:
    """The example's twelve articles planned at 23:30 London time: X has a plan, Facebook posts at once.

    The clock stays pinned there for the rest of the test; claims and releases pass their own instants."""
    settings.x.posting = PostingPlan(
        max_per_hour=4,
        min_spacing_minutes=10,
        quiet_start="22:00",
        quiet_end="07:00",
        timezone="Europe/London",
    )
    app = build_app(settings)
    upgrade(app.engine)
    clock.move_to(london(2026, 11, 26, 23, 30))
    ingest(app)
    assert plan_social(app) == 24
    yield app
    app.engine.dispose()


def times(app: App, channel: str) -> list[datetime]:
    with app.engine.connect() as connection:
        query = sa.select(Delivery.next_attempt_at).where(Delivery.channel == channel)
        return sorted(connection.execute(query.order_by(Delivery.id)).scalars())  # type: ignore[arg-type]


def claim(app: App, channel: str, at: datetime) -> list[outbox.Claimed]:
    return outbox.claim(app.engine, channel=channel, worker="w", limit=100, lease_seconds=60, now=at)


def test_planned_posts_wait_for_their_slot_in_the_outbox(planned: App, clock: time_machine.Traveller) -> None:
    morning = london(2026, 11, 27, 7, 0)
    expected = [morning + timedelta(hours=h, minutes=m) for h in range(3) for m in (0, 10, 20, 30)]
    assert times(planned, "x") == expected
    assert set(times(planned, "facebook")) == {london(2026, 11, 26, 23, 30)}
    assert claim(planned, "x", morning - timedelta(seconds=1)) == []
    assert len(claim(planned, "x", morning + timedelta(minutes=15))) == 2
    clock.move_to(london(2026, 11, 27, 8, 0))
    assert plan_social(planned) == 0  # idempotent: planning again moves nothing
    assert times(planned, "x") == expected


def test_a_held_post_is_never_claimed_until_released_into_a_free_slot(planned: App) -> None:
    first = plan.find_deliveries(planned.engine, article_id=1, platform="facebook")
    assert len(first) == 1
    assert plan.hold(planned.engine, first) == 1
    assert plan.hold(planned.engine, first) == 0  # holding twice is harmless
    later = london(2026, 11, 27, 12, 0)
    claimed = claim(planned, "facebook", later)
    assert len(claimed) == 11 and first[0] not in {c.id for c in claimed}
    with pytest.raises(ValueError, match="already sending"):
        plan.hold(planned.engine, [claimed[0].id])
    with pytest.raises(NotFound, match="no delivery 9999"):
        plan.hold(planned.engine, [9999])
    assert plan.release(planned.engine, planned.settings, first, now=later) == 1
    with planned.engine.connect() as connection:
        row = connection.execute(sa.select(Delivery).where(Delivery.id == first[0])).one()
    assert row.status == DeliveryStatus.PENDING and row.next_attempt_at == later
    assert [c.id for c in claim(planned, "facebook", later)] == first
    # A released post takes the next free slot of its account's plan.
    x_rows = plan.find_deliveries(planned.engine, article_id=1, platform="x")
    assert plan.hold(planned.engine, x_rows) == 1
    late = london(2026, 11, 27, 23, 0)  # quiet hours again: the post waits for the morning
    plan.release(planned.engine, planned.settings, x_rows, now=late)
    assert times(planned, "x")[-1] == london(2026, 11, 28, 7, 0)
