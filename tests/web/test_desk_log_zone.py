"""The delivery log's chart counts per day and hour in the desk's timezone (Europe/London, the main
newsletter's), on SQLite and PostgreSQL, around both of 2026's clock changes: the 25-hour Sunday of 25
October (01:00-02:00 happens twice, as BST then as GMT) and the 23-hour Sunday of 29 March (01:00-02:00
never happens). Rows are written straight into the delivery table at chosen instants; the clock is pinned
after them, so "today" and the chart's 30-day window are known local days."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from fastapi.testclient import TestClient

from distro.app import App
from distro.db import session_scope
from distro.models import Delivery, DeliveryStatus
from distro.web.app import create_web_app
from tests.web.desk import signed_in

AUTUMN_NOW = datetime(2026, 10, 26, 12, 0, tzinfo=UTC)  # Monday, the day after the clocks went back
SPRING_NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)  # Sunday, the day the clocks went forward


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned(clock: time_machine.Traveller) -> None:
    """Each test, its fixtures included, at its ``clock`` marker's instant."""


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app)) as test_client:
        yield test_client


def write(app: App, channel: str, *moments: datetime, failed: tuple[datetime, ...] = ()) -> None:
    """One delivery on ``channel`` sent at each of ``moments``, one failed at each of ``failed``."""
    with session_scope(app.engine) as session:
        for at in moments:
            session.add(
                Delivery(
                    key=f"{channel}:{at.isoformat()}",
                    channel=channel,
                    recipient="r@example.org",
                    status=DeliveryStatus.SENT,
                    sent_at=at,
                    updated_at=at,
                    created_at=at,
                )
            )
        for at in failed:
            session.add(
                Delivery(
                    key=f"{channel}:failed:{at.isoformat()}",
                    channel=channel,
                    recipient="r@example.org",
                    status=DeliveryStatus.FAILED,
                    updated_at=at,
                    created_at=at,
                )
            )


def chart_rows(html: str) -> list[tuple[str, int, int]]:
    """The chart's table: (bucket label, sent, failed) in order."""
    found = re.findall(r'<tr><th scope="row">([^<]+)</th><td>(\d+)</td><td>(\d+)</td></tr>', html)
    return [(label, int(sent), int(failed)) for label, sent, failed in found]


def bar_titles(html: str) -> set[str]:
    svg = re.search(r"<svg.*?</svg>", html, re.S)
    assert svg, "no chart"
    return set(re.findall(r"<title>([^<]+: \d+ (?:sent|failed))</title>", svg.group()))


@pytest.mark.clock(AUTUMN_NOW)
def test_the_autumn_night_has_two_one_oclocks_and_local_days_hold_their_own_rows(
    app: App, client: TestClient
) -> None:
    assert app.settings.digest.timezone == "Europe/London"
    # The night the clocks went back: 00:30 BST, 01:10 and 01:50 BST, then 01:20, 01:40 (failed), 02:05 GMT.
    write(
        app,
        "email",
        utc(10, 24, 23, 30),
        utc(10, 25, 0, 10),
        utc(10, 25, 0, 50),
        utc(10, 25, 1, 20),
        utc(10, 25, 2, 5),
        failed=(utc(10, 25, 1, 40),),
    )
    # The whole local Sunday: its first minute (23:00 UTC on Saturday) and its last (23:59 GMT).
    write(app, "x", utc(10, 24, 23, 0), utc(10, 25, 23, 59))
    # The 30-day window opens at midnight BST on Sunday 27 September (23:00 UTC the day before).
    write(app, "webhook", utc(9, 26, 22, 30), utc(9, 26, 23, 30))
    signed_in(app, client, "/desk/log")

    page = client.get("/desk/log", params={"channel": "email"}).text
    assert chart_rows(page) == [
        ("2026-10-25 00:00 BST", 1, 0),
        ("2026-10-25 01:00 BST", 2, 0),
        ("2026-10-25 01:00 GMT", 1, 1),
        ("2026-10-25 02:00 GMT", 1, 0),
    ]
    assert "2026-10-25 01:00 BST: 2 sent" in bar_titles(page)
    assert "2026-10-25 01:00 GMT: 1 failed" in bar_titles(page)
    assert "Hour (Europe/London)" in page and "UTC" not in page

    hours = chart_rows(client.get("/desk/log", params={"channel": "x"}).text)
    assert len(hours) == 25  # the long Sunday, every hour present
    assert hours[0] == ("2026-10-25 00:00 BST", 1, 0) and hours[-1] == ("2026-10-25 23:00 GMT", 1, 0)
    assert [label for label, _, _ in hours].count("2026-10-25 01:00 GMT") == 1
    assert sum(sent for _, sent, _ in hours[1:-1]) == 0

    page = client.get("/desk/log").text
    days = {label: (sent, failed) for label, sent, failed in chart_rows(page)}
    assert len(days) == 30 and min(days) == "2026-09-27" and max(days) == "2026-10-26"
    assert days["2026-09-27"] == (1, 0)  # 23:30 UTC is 00:30 BST; the row at 23:30 BST is outside
    assert days["2026-10-24"] == (0, 0)  # in UTC, Saturday would hold two rows
    assert days["2026-10-25"] == (7, 1)
    assert sum(sent for sent, _ in days.values()) == 8
    assert "Day (Europe/London)" in page and "Europe/London time" in page and "UTC" not in page


@pytest.mark.clock(SPRING_NOW)
def test_the_spring_night_has_no_one_oclock(app: App, client: TestClient) -> None:
    # 00:30 GMT, then 02:30 and 03:30 BST: the hour from 01:00 to 02:00 never happened.
    write(app, "email", utc(3, 29, 0, 30), utc(3, 29, 1, 30), utc(3, 29, 2, 30))
    write(app, "x", utc(3, 28, 23, 30))  # 23:30 GMT on Saturday: Saturday's, in either zone
    write(app, "webhook", utc(3, 20, 12))  # a week before: the whole log is charted per day
    signed_in(app, client, "/desk/log")

    page = client.get("/desk/log", params={"channel": "email"}).text
    assert chart_rows(page) == [
        ("2026-03-29 00:00 GMT", 1, 0),
        ("2026-03-29 02:00 BST", 1, 0),
        ("2026-03-29 03:00 BST", 1, 0),
    ]
    days = {label: counts for label, *counts in chart_rows(client.get("/desk/log").text)}
    assert max(days) == "2026-03-29" and days["2026-03-29"] == [3, 0] and days["2026-03-28"] == [1, 0]
    assert days["2026-03-20"] == [1, 0] and len(days) == 30


@pytest.mark.clock(AUTUMN_NOW)
def test_the_chart_follows_the_desk_zone(app: App, client: TestClient) -> None:
    """Another desk zone, other buckets: in New York 23:30 UTC on 24 October is that Saturday's evening."""
    app.settings.digest.timezone = "America/New_York"
    write(app, "email", utc(10, 24, 23, 30), utc(10, 25, 3, 30), utc(10, 25, 4, 30))
    write(app, "x", utc(10, 10, 12))  # two weeks before: the whole log is charted per day
    signed_in(app, client, "/desk/log")
    days = {label: counts for label, *counts in chart_rows(client.get("/desk/log").text)}
    assert days["2026-10-24"] == [2, 0] and days["2026-10-25"] == [1, 0]
    page = client.get("/desk/log", params={"channel": "email"}).text
    assert [label for label, _, _ in chart_rows(page)][0] == "2026-10-24 19:00 EDT"
    assert "Hour (America/New_York)" in page
