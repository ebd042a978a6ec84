"""Geometry of the delivery log's bar chart, drawn by the template as inline SVG (the desk runs no scripts).

Two bars per time bucket (sent, failed) on a shared integer axis; every drawn bar carries its exact count
in its label, which the template puts in the bar's ``<title>`` (shown on hover, read by screen readers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from distro.services.delivery_log import Activity

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 748, 14, 214  # the plot area; axis labels go around it
MAX_X_LABELS = 10
MIN_BAR = 2.0  # SVG units
MAX_BAR = 28.0  # a lone bucket does not fill the plot


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: Literal["sent", "failed"]
    title: str  # e.g. "2026-03-02: 4 sent", the day or hour in the desk's timezone


@dataclass(frozen=True, slots=True)
class Tick:
    at: float  # x or y in SVG units
    label: str


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    sent: int
    failed: int


@dataclass(frozen=True, slots=True)
class BarChart:
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    rows: list[Row]  # the same numbers, for the table under the chart
    x_label: str
    y_label: str = "Deliveries"
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = RIGHT
    top: int = TOP
    bottom: int = BOTTOM


def _step(peak: int) -> int:
    """A 1-2-5 step giving at most five gridlines up to ``peak``."""
    raw = max(peak / 5, 1)
    power = int(10 ** math.floor(math.log10(raw)))  # raw >= 1, so a whole power
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _label(start: datetime, unit: str) -> str:
    """A bucket by its local day, or its local hour with the zone's abbreviation (an autumn night has two
    01:00s: "01:00 BST" and "01:00 GMT")."""
    return f"{start:%Y-%m-%d}" if unit == "day" else f"{start:%Y-%m-%d %H:%M %Z}"


def _short(start: datetime, unit: str) -> str:
    if unit == "day" or start.hour == 0:
        return f"{start.day} {start:%b}"
    return f"{start:%H:00}"


def bar_chart(activity: Activity) -> BarChart:
    buckets = activity.buckets
    highest = max([b.sent for b in buckets] + [b.failed for b in buckets] + [1])
    step = _step(highest)
    peak = step * math.ceil(highest / step)
    slot = (RIGHT - LEFT) / max(len(buckets), 1)
    width = round(min(slot * 0.4, MAX_BAR), 1)

    def y(value: int) -> float:
        return round(BOTTOM - (BOTTOM - TOP) * value / peak, 1)

    def top_of(value: int) -> float:  # a bar of 1 next to one of thousands still shows
        return min(y(value), BOTTOM - MIN_BAR)

    bars: list[Bar] = []
    x_ticks: list[Tick] = []
    every = math.ceil(len(buckets) / MAX_X_LABELS) if buckets else 1
    for index, bucket in enumerate(buckets):
        x = LEFT + (index + 0.5) * slot - width  # the pair is centred on its slot
        label = _label(bucket.start, activity.unit)
        if bucket.sent:
            top = top_of(bucket.sent)
            bars.append(
                Bar(round(x, 1), top, width, round(BOTTOM - top, 1), "sent", f"{label}: {bucket.sent} sent")
            )
        if bucket.failed:
            top = top_of(bucket.failed)
            title = f"{label}: {bucket.failed} failed"
            bars.append(Bar(round(x + width, 1), top, width, round(BOTTOM - top, 1), "failed", title))
        if index % every == 0:
            x_ticks.append(Tick(round(LEFT + (index + 0.5) * slot, 1), _short(bucket.start, activity.unit)))
    return BarChart(
        bars=bars,
        y_ticks=[Tick(y(v), str(v)) for v in range(0, peak + 1, step)],
        x_ticks=x_ticks,
        rows=[Row(_label(b.start, activity.unit), b.sent, b.failed) for b in buckets],
        x_label=f"{activity.unit.capitalize()} ({activity.zone})",
    )
