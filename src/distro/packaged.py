"""Where the files distro ships with live: its templates, the config ``distro init`` writes, example.toml.

An installed wheel holds them inside the package: ``distro/templates`` and ``distro/defaults/example.toml``
are mapped there from the repository's top-level ``templates/`` and ``config/example.toml`` when the wheel
is built (pyproject.toml), ``distro/defaults/distro.toml`` lives in the package itself. An editable install
maps nothing, so those two are then the repository's own, beside ``src/``: there is one copy of each in
the tree either way, and editing it changes what a development install renders at once.

A site's own ``templates/`` folder (``settings.templates_dir``) is not here: it overrides these file by
file (see :func:`distro.compose.templating.make_environment`).
"""

from __future__ import annotations

from pathlib import Path

from distro.errors import ConfigError

PACKAGE = Path(__file__).resolve().parent
DEFAULT_SITE_CONFIG = PACKAGE / "defaults" / "distro.toml"


def templates_dir() -> Path:
    """The templates distro ships: the installed package's, else the repository's (editable install).

    Raises ConfigError when neither exists (a broken install), naming both places looked at.
    """
    return _shipped(PACKAGE / "templates", Path("templates"))


def example_config() -> Path:
    """example.toml, every setting with its default and what it is for."""
    return _shipped(PACKAGE / "defaults" / "example.toml", Path("config") / "example.toml")


def _shipped(installed: Path, in_repository: Path) -> Path:
    if installed.exists():
        return installed
    checkout = PACKAGE.parent.parent  # src/distro -> the repository, for an editable install
    repository = checkout / in_repository
    if PACKAGE.parent.name == "src" and repository.exists():
        return repository
    raise ConfigError(f"distro's {installed.name} is missing ({installed}, {repository}): reinstall distro")


def template_names() -> list[str]:
    """Every packaged template, as the name a loader takes (``email/digest.mjml.j2``), sorted."""
    root = templates_dir()
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*.j2") if path.is_file())


def default_site_config() -> str:
    """The commented ``config/distro.toml`` that ``distro init`` writes into a new site."""
    return DEFAULT_SITE_CONFIG.read_text(encoding="utf-8")
