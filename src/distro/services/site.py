"""A site folder: the config ``distro init`` lays down in it, and the templates it overrides.

A site is the folder distro runs from: ``config/distro.toml``, ``var/`` (the SQLite database, the signing
key, the file outboxes) and, only if it customises any, ``templates/`` holding just the files it changes;
every other template comes from distro itself (:mod:`distro.packaged`). Nothing here needs the database,
so ``distro templates`` works before ``distro init`` and on a machine that cannot reach the database.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from distro import packaged
from distro.errors import NotFound, Refused
from distro.settings import Settings

_SITE = "{site}"


def write_site_config(path: Path, site: Path) -> bool:
    """Write distro's commented default config at ``path`` unless a file is there; True if written.

    Its paths are ``site``'s, written out in full, so the file works with ``--config`` from any folder.
    The file is created exclusively: an existing config (even one made a moment ago) is never replaced.
    """
    if path.exists():
        return False
    folder = json.dumps(site.resolve().as_posix())[1:-1]  # escaped as inside a TOML basic string
    text = packaged.default_site_config().replace(_SITE, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        return False
    return True


@dataclass(frozen=True)
class TemplateEntry:
    """One packaged template and whether the site's templates folder has its own copy of it."""

    name: str
    overridden: bool


def list_templates(settings: Settings) -> list[TemplateEntry]:
    """Every template distro ships, sorted, each marked when the site overrides it."""
    site = _site_dir(settings)
    names = packaged.template_names()
    return [TemplateEntry(name, site is not None and (site / name).is_file()) for name in names]


def copy_template(settings: Settings, name: str, *, force: bool = False) -> Path:
    """Copy the packaged template ``name`` into the site's templates folder and return the copy's path.

    The copy then overrides the packaged file (and only that file) in every later render. An existing
    copy is kept unless ``force``: it is likely the site's own edits.
    """
    names = packaged.template_names()
    wanted = name.strip().lstrip("/").removeprefix("templates/")
    if wanted not in names:
        raise NotFound(f"distro has no template {name!r}; `distro templates list` shows its {len(names)}")
    source = packaged.templates_dir() / wanted
    target = settings.templates_dir / wanted
    if target.resolve() == source.resolve():
        raise Refused(
            f"{target} is distro's own template (templates_dir is the folder distro ships): edit it there, "
            "or set templates_dir to the site's own folder"
        )
    if target.exists() and not force:
        raise Refused(f"{target} exists (the site's own copy); --force replaces it with distro's")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def _site_dir(settings: Settings) -> Path | None:
    """The site's override folder when it is not distro's own (a run from distro's repository)."""
    site = settings.templates_dir
    if not site.is_dir() or site.resolve() == packaged.templates_dir().resolve():
        return None
    return site
