"""One way every desk page writes a time: in the desk's timezone (the main newsletter's), with its zone.

:func:`install` adds to the App's template environment the filter ``desk_time`` (a ``<time>`` element
whose text is the instant in the desk's timezone and whose ``datetime`` is the exact instant, "never" for
None), ``in_words`` ("Monday 7 December, 07:00 Europe/London": a newsletter's next edition in its own
timezone) and the global ``desk_zone``. The zone is read from the settings at each call, so a page never
disagrees with the settings it was rendered with.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape

from distro.models import utcnow
from distro.settings import Settings

DESK_FORMAT = "%a %d %b %Y %H:%M %Z"


def in_words(value: datetime, zone: str, now: datetime | None = None) -> str:
    """``value`` as a person says it in ``zone``: weekday, day, month (year when not this year), time."""
    local = value.astimezone(ZoneInfo(zone))
    year = "" if local.year == (now or utcnow()).astimezone(ZoneInfo(zone)).year else f" {local.year}"
    return f"{local:%A} {local.day} {local:%B}{year}, {local:%H:%M} {zone}"


def desk_time(value: datetime | None, zone: str, fmt: str = DESK_FORMAT) -> Markup:
    """A ``<time>`` element for ``value`` in ``zone`` (its ``datetime`` attribute keeps the offset)."""
    if value is None:
        return Markup('<span class="muted">never</span>')
    shown = value.astimezone(ZoneInfo(zone)).strftime(fmt)
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(timespec="seconds"), escape(shown))


def install(env: jinja2.Environment, settings: Settings) -> None:
    """Register ``desk_time``, ``in_words`` and ``desk_zone`` for the desk's templates."""

    def desk_filter(value: datetime | None, fmt: str = DESK_FORMAT) -> Markup:
        return desk_time(value, settings.digest.timezone, fmt)

    env.filters["desk_time"] = desk_filter
    env.filters["in_words"] = in_words
    env.globals["desk_zone"] = settings.digest.timezone
