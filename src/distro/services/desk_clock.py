"""Times as the desk reads them: in the main digest's timezone, the one its dashboard shows.

Messages, activity details and queue lines written for an editor all go through :func:`local_time`, so
one page never mixes zones (the desk's templates use the same zone: :mod:`distro.web.desk_time`).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from distro.settings import Settings


def desk_zone(settings: Settings) -> ZoneInfo:
    """The desk's timezone: the main digest's, as on the dashboard."""
    return ZoneInfo(settings.digest.timezone)


def local_time(settings: Settings, value: datetime) -> str:
    """``value`` in the desk's timezone, as the queue and the messages show it."""
    return value.astimezone(desk_zone(settings)).strftime("%Y-%m-%d %H:%M %Z")
