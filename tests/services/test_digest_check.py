"""The pre-flight refuses every unsafe edition with a one-line reason and queues nothing; a sound one goes.

Each unsafe case is made the way it happens on a real site: a template copied into the site's folder and
broken, a tiny clip limit, SMTP without DKIM or https. The CLI's ``digest check`` is run as a reader would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import time_machine
from pydantic import SecretStr
from sqlmodel import select
from typer.testing import CliRunner, Result

from distro import packaged
from distro.app import App, build_app
from distro.cli import cli
from distro.compose.preflight import html_part_bytes
from distro.db import session_scope, upgrade
from distro.errors import DistroError, RenderError
from distro.models import Delivery
from distro.services.digest_check import check_edition
from distro.services.digest_compose import open_edition
from distro.services.digest_edit import send_test
from distro.services.digest_send import send_edition
from distro.services.ingest import ingest
from distro.services.subscribers import add_subscriber
from distro.settings import Settings
from tests.test_dkim import rsa_pair

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
FOOTER = "email/partials/footer.mjml.j2"


def site_app(settings: Settings, tmp_path: Path, broken: str = "") -> App:
    """An app whose site folder holds a copy of the footer with ``broken`` added to its first column."""
    if broken:
        site = tmp_path / "site"
        (site / "email" / "partials").mkdir(parents=True)
        footer = (packaged.templates_dir() / FOOTER).read_text()
        (site / FOOTER).write_text(footer.replace("<mj-column>", f"<mj-column>\n{broken}", 1))
        settings.templates_dir = site
    settings.x.enabled = settings.facebook.enabled = False
    application = build_app(settings)
    upgrade(application.engine)
    ingest(application)
    add_subscriber(application, "amira@example.org", "Amira")
    return application


def refused(application: App) -> str:
    with pytest.raises(DistroError) as caught:
        send_edition(application, application.settings.digest)
    reason = str(caught.value)
    assert "\n" not in reason
    digest = open_edition(application, application.settings.digest).digest
    assert digest is not None and digest.queued_at is None
    with session_scope(application.engine) as session:
        assert session.exec(select(Delivery)).all() == []
    return reason


def smtp(settings: Settings, *, dkim: bool, https: bool) -> None:
    settings.email.mode = "smtp"
    settings.smtp.host, settings.smtp.port = "127.0.0.1", 9  # never reached: the pre-flight refuses first
    settings.web.public_url = "https://news.meridian-review.example" if https else "http://news.example"
    if dkim:
        pem, _ = rsa_pair()
        settings.email.dkim_selector, settings.email.dkim_domain = "s1", "meridian-review.example"
        settings.email.dkim_private_key = SecretStr(pem.decode())


def test_a_sound_edition_has_no_error_and_is_queued(
    settings: Settings, tmp_path: Path, clock: time_machine.Traveller
) -> None:
    application = site_app(settings, tmp_path)
    digest = open_edition(application, settings.digest).digest
    assert digest is not None
    report = check_edition(application, settings.digest, digest, spam=True)
    assert report.errors == ()
    assert {f.check for f in report.warnings} == {"links"}  # http://localhost links: fine for a dev site
    if shutil.which("spamassassin"):
        assert report.spam is not None and report.spam.score <= 0.0, report.spam
    assert send_edition(application, settings.digest).queued == 1


@pytest.mark.parametrize(
    ("dkim", "https", "reason"),
    [
        (False, True, "DKIM is not configured"),
        (True, False, "web.public_url http://news.example is not https"),
    ],
)
def test_a_bulk_send_over_smtp_needs_dkim_and_https(
    settings: Settings, tmp_path: Path, clock: time_machine.Traveller, dkim: bool, https: bool, reason: str
) -> None:
    smtp(settings, dkim=dkim, https=https)
    assert reason in refused(site_app(settings, tmp_path))


def test_the_test_relay_override_lets_a_bulk_send_go(
    settings: Settings, tmp_path: Path, clock: time_machine.Traveller
) -> None:
    smtp(settings, dkim=False, https=False)
    settings.email.unsafe_test_relay = True
    settings.email.mode = "file"  # queued only: nothing is sent in this test
    application = site_app(settings, tmp_path)
    settings.email.mode = "smtp"
    assert send_edition(application, settings.digest).queued == 1


def test_over_gmails_clip_measured_encoded_is_refused(
    settings: Settings, tmp_path: Path, clock: time_machine.Traveller
) -> None:
    application = site_app(settings, tmp_path)
    digest = open_edition(application, settings.digest).digest
    assert digest is not None
    encoded = html_part_bytes(digest.message_template.encode("ascii"))
    assert encoded > len(digest.html.encode("utf-8"))  # "=" is "=3D" and lines end in soft breaks
    settings.digest.max_html_bytes = len(digest.html.encode("utf-8")) + 10  # decoded it would pass
    assert "over Gmail's" in refused(application)


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ('<mj-text><a href="/about">About us</a></mj-text>', "link is not an absolute https URL: /about"),
        ('<mj-text><img src="https://img.example/logo.png"></mj-text>', "image without alt"),
    ],
)
def test_a_template_with_a_bad_link_or_image_is_refused_even_for_a_test_copy(
    settings: Settings, tmp_path: Path, clock: time_machine.Traveller, broken: str, reason: str
) -> None:
    application = site_app(settings, tmp_path, broken)
    assert reason in refused(application)
    digest = open_edition(application, settings.digest).digest
    assert digest is not None
    with pytest.raises(DistroError, match=reason):
        send_test(application, digest, "editor@example.org")


def test_a_misspelt_mjml_tag_stops_the_edition(
    settings: Settings, tmp_path: Path, clock: time_machine.Traveller
) -> None:
    with pytest.raises(RenderError, match=r"unknown MJML element <mj-txt>"):
        site_app(settings, tmp_path, "<mj-txt>Lost words</mj-txt>")
        open_edition(build_app(settings), settings.digest)


def test_digest_check_on_the_command_line(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: time_machine.Traveller
) -> None:
    site_app(settings, tmp_path).engine.dispose()  # this week's news in the database
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISTRO_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DISTRO_VAR_DIR", str(settings.var_dir))

    def run(*args: str, **env: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env)

    ok = run("digest", "check", "--no-spam")
    assert ok.exit_code == 0 and "ready to send" in ok.stdout, ok.output
    bad = run("digest", "check", "--no-spam", DISTRO_EMAIL__MODE="smtp")
    assert bad.exit_code == 1 and "error: dkim: DKIM is not configured" in bad.stdout, bad.output
    sent = run("digest", "send", "--yes", DISTRO_EMAIL__MODE="smtp")
    assert sent.exit_code == 1 and isinstance(sent.exception, DistroError)  # main() prints it on one line
    assert str(sent.exception).startswith("pre-flight refused weekly-2026-W49: DKIM is not configured")
