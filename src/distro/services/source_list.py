"""Every source to poll: the TOML file's ``[[sources]]`` and, after them, those added on the desk.

One list for the scheduler, ``distro ingest``, WebSub and the desk, so a source added on the desk is
polled exactly like one in the file. A paused desk source is left out of the polls (``include_paused``
for the places that name it, such as "poll now" or a WebSub push). A desk source never shadows a TOML
one: names are checked unique across both when a source is added.
"""

from __future__ import annotations

from distro.app import App
from distro.settings import SourceSettings
from distro.store import sources


def every_source(app: App, *, include_paused: bool = False) -> list[SourceSettings]:
    """The TOML sources, then the desk's (unpaused unless ``include_paused``), as settings entries."""
    configured = list(app.settings.sources)
    taken = {c.name for c in configured}
    allowed = app.settings.web.desk_private_sources
    desk = sources.desk_entries(app.engine, paused=None if include_paused else False)
    return configured + [
        sources.as_settings(entry, private_allowed=allowed) for entry in desk if entry.name not in taken
    ]
