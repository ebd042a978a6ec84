"""distro as a new user gets it: the wheel built from this tree, installed into a fresh virtualenv, run in
an empty folder, with nothing from the repository but the example feed and subscribers it is given.

The fresh venv finds distro's dependencies in this test run's own site-packages through a ``.pth`` line
(a plain path: the ``.pth`` files there, such as the editable install's pointer to ``src/``, are not
processed), so no network is needed; the wheel itself is installed with ``--no-deps --no-index``, and the
first test checks that the ``distro`` it runs is the installed copy, not this checkout's ``src/``.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_FEED, EXAMPLE_SUBSCRIBERS, ROOT

PACKAGED_TEXT = "TOP STORY"  # templates/email/digest.txt.j2
PACKAGED_HTML = "You are receiving this because you subscribed to the"  # email/partials/footer.mjml.j2
OWN_TEXT = "LEAD STORY, AS THIS SITE'S OWN TEMPLATE PUTS IT"


@dataclass(frozen=True)
class Installed:
    venv: Path
    wheel: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def distro(self, folder: Path, *args: str) -> str:
        """``distro ARGS`` from the venv's console script, in ``folder``, with no DISTRO_* variable."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRO_")} | {"COLUMNS": "200"}
        result = subprocess.run(
            [str(self.venv / "bin" / "distro"), *args],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"distro {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout


def _run(*args: str) -> None:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel of this tree (``pip wheel . --no-deps``), installed alone into a new venv, once."""
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run(*pip, "wheel", str(ROOT), "--no-deps", "--quiet", "--wheel-dir", str(wheelhouse))
    (wheel,) = wheelhouse.glob("distro-*.whl")
    venv = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    (site_packages,) = (venv / "lib").glob("python3*/site-packages")
    dependencies = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (site_packages / "zz_distro_dependencies.pth").write_text("".join(f"{p}\n" for p in dependencies))
    python = str(venv / "bin" / "python")
    _run(*pip, "--python", python, "install", "--no-deps", "--no-index", "--quiet", str(wheel))
    return Installed(venv, wheel)


def test_the_wheel_holds_the_templates_migrations_and_config_and_runs_from_the_venv(
    installed: Installed, tmp_path: Path
) -> None:
    where = subprocess.run(
        [
            str(installed.python),
            "-c",
            "import json, distro, distro.db, distro.packaged as p; print(json.dumps([distro.__file__, "
            "str(p.templates_dir()), str(p.example_config()), str(distro.db.MIGRATIONS)]))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    paths = [Path(p) for p in json.loads(where.stdout)]
    assert all(p.is_relative_to(installed.venv) for p in paths), paths
    module, templates, example, migrations = paths
    assert (templates / "email" / "digest.mjml.j2").read_bytes() == (
        ROOT / "templates" / "email" / "digest.mjml.j2"
    ).read_bytes()
    assert example.read_bytes() == (ROOT / "config" / "example.toml").read_bytes()
    assert (migrations / "versions" / "0001_initial_schema.py").is_file()
    assert not (module.parent / "templates" / "__init__.py").exists()
    assert installed.distro(tmp_path, "--version").strip() == f"distro {installed.wheel.name.split('-')[1]}"


def test_an_empty_folder_becomes_a_site_that_sends_with_packaged_then_its_own_templates(
    installed: Installed, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    assert "wrote" in installed.distro(site, "init")
    config = site / "config" / "distro.toml"
    with config.open("a") as handle:  # the example publication's feed, from the repository
        handle.write(f'\n[[sources]]\nname = "meridian-review"\nurl = "{EXAMPLE_FEED}"\nbackfill = 12\n')
    installed.distro(site, "ingest")
    installed.distro(site, "subscribers", "import", str(EXAMPLE_SUBSCRIBERS))

    def preview_text() -> str:
        out = installed.distro(site, "digest", "preview", "--subscriber", "amira.haddad@example.org")
        return Path(out.split()[1]).read_text()

    assert PACKAGED_TEXT in preview_text() and not (site / "templates").exists()
    copied = Path(installed.distro(site, "templates", "copy", "email/digest.txt.j2").split()[-1])
    assert copied == site / "templates" / "email" / "digest.txt.j2"
    copied.write_text(copied.read_text().replace(PACKAGED_TEXT, OWN_TEXT))
    installed.distro(site, "digest", "edit", "--max-stories", "12")  # an edit composes the edition anew
    assert OWN_TEXT in preview_text() and PACKAGED_TEXT not in preview_text()

    assert "email: 5 sent" in installed.distro(site, "digest", "send", "--yes")  # the edition previewed
    messages = sorted((site / "var" / "outbox" / "email").glob("*.eml"))
    assert len(messages) == 5
    for path in messages:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        text, html = (message.get_body(preferencelist=(kind,)) for kind in ("plain", "html"))
        assert text is not None and html is not None
        assert OWN_TEXT in text.get_content() and PACKAGED_TEXT not in text.get_content()
        assert PACKAGED_HTML in html.get_content()  # the HTML template the site left alone
