"""A site folder: the config `distro init` writes, and copying templates out to override them."""

from __future__ import annotations

from pathlib import Path

import pytest

from distro import packaged
from distro.errors import NotFound, Refused
from distro.services.site import copy_template, list_templates, write_site_config
from distro.settings import Settings, load_settings


def test_the_written_config_loads_and_names_this_folder_in_full(tmp_path: Path) -> None:
    site = tmp_path / "my site"  # a space, to show the paths stay one TOML string
    path = site / "config" / "distro.toml"
    assert write_site_config(path, site)
    settings = load_settings(path)
    assert settings.database_url == f"sqlite:///{site}/var/distro.db"
    assert (settings.var_dir, settings.templates_dir) == (site / "var", site / "templates")
    assert settings.email.mode == "file" and settings.sources == []
    text = path.read_text()
    assert '# url = "examples/feed.xml"' in text and "meridian-review" in text  # the example, commented


def test_an_existing_config_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "config" / "distro.toml"
    path.parent.mkdir()
    path.write_text('database_url = "sqlite:///mine.db"\n')
    assert not write_site_config(path, tmp_path)
    assert path.read_text() == 'database_url = "sqlite:///mine.db"\n'


def test_the_shipped_example_documents_every_section(tmp_path: Path) -> None:
    text = packaged.example_config().read_text()
    assert all(f"[{section}]" in text for section in ("email", "smtp", "digest", "web", "dispatch"))


def site_settings(tmp_path: Path) -> Settings:
    return Settings(database_url="sqlite://", var_dir=tmp_path / "var", templates_dir=tmp_path / "templates")


def test_copy_puts_one_template_in_the_site_folder_and_list_marks_it(tmp_path: Path) -> None:
    settings = site_settings(tmp_path)
    assert not any(entry.overridden for entry in list_templates(settings))
    copied = copy_template(settings, "email/digest.mjml.j2")
    assert copied == tmp_path / "templates" / "email" / "digest.mjml.j2"
    assert copied.read_bytes() == (packaged.templates_dir() / "email" / "digest.mjml.j2").read_bytes()
    overridden = [entry.name for entry in list_templates(settings) if entry.overridden]
    assert overridden == ["email/digest.mjml.j2"]


def test_copy_keeps_the_sites_own_edits_unless_forced(tmp_path: Path) -> None:
    settings = site_settings(tmp_path)
    copied = copy_template(settings, "social/x.txt.j2")
    copied.write_text("{{ article.title }} (edited)\n")
    with pytest.raises(Refused, match="--force"):
        copy_template(settings, "social/x.txt.j2")
    assert copied.read_text() == "{{ article.title }} (edited)\n"
    copy_template(settings, "social/x.txt.j2", force=True)
    assert copied.read_bytes() == (packaged.templates_dir() / "social" / "x.txt.j2").read_bytes()


@pytest.mark.parametrize("name", ["email/nope.mjml.j2", "../pyproject.toml", "/etc/passwd", "email"])
def test_copy_takes_only_a_packaged_template(tmp_path: Path, name: str) -> None:
    with pytest.raises(NotFound, match="distro templates list"):
        copy_template(site_settings(tmp_path), name)
    assert not (tmp_path / "templates").exists()


def test_copy_onto_the_packaged_folder_itself_is_refused(tmp_path: Path) -> None:
    settings = Settings(database_url="sqlite://", var_dir=tmp_path, templates_dir=packaged.templates_dir())
    with pytest.raises(Refused, match="distro's own template"):
        copy_template(settings, "email/digest.txt.j2")
    assert not any(entry.overridden for entry in list_templates(settings))
