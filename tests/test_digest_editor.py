"""The editor's loop on SQLite and PostgreSQL: edit, preview, test copy, send; section variants; DKIM.

In-process tests run at the pinned instant of the ``clock`` fixture (Friday 2026-11-27 12:00 UTC), so "this
week's" edition is always weekly-2026-W48; the CLI tests run ``distro`` in subprocesses on the real clock
and assert nothing about which week it is.
"""

from __future__ import annotations

import email
import json
import os
import re
import shutil
import subprocess
import sys
from email import policy
from email.message import EmailMessage
from pathlib import Path

import dkim
import pytest
import sqlalchemy as sa
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr
from sqlmodel import select

from distro.app import App
from distro.compose.dkim import signer_from_settings
from distro.db import session_scope
from distro.errors import ConfigError, DistroError
from distro.models import Article, Delivery, Digest
from distro.services.delivery import dispatch
from distro.services.digest_compose import open_edition
from distro.services.digest_edit import EditChanges, save_edit, send_test
from distro.services.digest_preview import render_preview
from distro.services.digest_send import queue_edition
from distro.services.ingest import ingest
from distro.services.subscribers import add_subscriber, import_csv
from distro.services.tracking import direct_html
from distro.tokens import read_token
from tests.conftest import EXAMPLE_SUBSCRIBERS, FRIDAY, ROOT


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None
    return str(part.get_content())


def articles(app: App) -> list[Article]:
    with session_scope(app.engine) as session:
        return list(session.exec(select(Article).order_by(Article.id)))  # type: ignore[arg-type]


@pytest.fixture
def week(app: App, clock: time_machine.Traveller) -> App:
    """The example's articles, ingested at the pinned instant; the test goes on at that instant."""
    app.settings.x.enabled = app.settings.facebook.enabled = False
    ingest(app)
    return app


def test_editor_pins_excludes_limits_and_writes_an_intro_then_recomposes(week: App, tmp_path: Path) -> None:
    first = open_edition(week, week.settings.digest)
    assert first.digest is not None and first.created
    all_articles = articles(week)
    pinned, dropped = all_articles[-1], all_articles[0]
    intro = "A **busy** week. <script>alert(1)</script> [Our policy](https://meridian-review.example/p)"
    result = save_edit(
        week,
        week.settings.digest,
        EditChanges(intro=intro, pin=pinned.id, exclude=(dropped.id or 0,), max_stories=5),
    )
    digest = result.digest
    assert digest is not None and digest.id == first.digest.id  # recomposed in place, not a second digest
    assert digest.article_ids[0] == pinned.id and dropped.id not in digest.article_ids
    assert len(digest.article_ids) == 5
    assert pinned.title.split()[0] in digest.subject  # the subject template follows the pinned lead
    page = render_preview(week, week.settings.digest, digest)
    html = page.html.decode()
    assert "<strong>busy</strong>" in html and "<script>" not in html
    # the intro's link is tracked like a story's (tracking.clicks): it leads to the stored URL
    assert 'href="https://meridian-review.example/p"' not in html
    assert 'href="https://meridian-review.example/p"' in direct_html(week, digest.slug, html)
    assert "A **busy** week." in page.text.decode()  # the text part reads the Markdown as written
    assert dropped.title not in html
    # the stored edit survives a plain compose; queueing freezes it
    assert open_edition(week, week.settings.digest).digest.article_ids == digest.article_ids  # type: ignore[union-attr]
    queue_edition(week, week.settings.digest, digest)
    with pytest.raises(DistroError, match="queued digest cannot be edited"):
        save_edit(week, week.settings.digest, EditChanges(max_stories=3))


def test_test_copy_goes_through_the_channel_marked_and_apart(week: App) -> None:
    import_csv(week, EXAMPLE_SUBSCRIBERS)
    digest = open_edition(week, week.settings.digest).digest
    assert digest is not None
    row = send_test(week, digest, "editor@example.org")
    again = send_test(week, digest, "editor@example.org")
    assert (row.key, again.key) == (f"test:{digest.slug}:1", f"test:{digest.slug}:2")
    assert row.status == "sent" and row.subscriber_id is None
    message = parse((week.settings.email_dir / row.provider_id).read_bytes())  # type: ignore[operator]
    assert message["Subject"] == "[TEST] " + digest.subject
    assert message["To"] == "editor@example.org"
    assert queue_edition(week, week.settings.digest, digest).queued == 5
    with session_scope(week.engine) as session:
        assert session.get_one(Digest, digest.id).recipients == 5  # the test copies are not recipients
    assert dispatch(week, ["email"])["email"].sent == 5  # and are not sent again


def test_each_reader_gets_only_their_sections_and_their_own_links(week: App) -> None:
    add_subscriber(week, "all@example.org", "All Sections")
    add_subscriber(week, "sec@example.org", "Sec Reader", sections=["security"])
    add_subscriber(week, "sec2@example.org", None, sections=["Security"])
    add_subscriber(week, "econ@example.org", "Econ", sections=["Economy", "Geopolitics"])
    digest = open_edition(week, week.settings.digest).digest
    assert digest is not None
    queue_edition(week, week.settings.digest, digest)
    with week.engine.connect() as connection:
        keys = (
            connection.execute(sa.text("select sections_key from digestvariant order by 1")).scalars().all()
        )
    assert keys == ["economy|geopolitics", "security"]  # one per distinct choice, not per reader
    assert dispatch(week, ["email"])["email"].sent == 4
    sent = {}
    for path in week.settings.email_dir.glob("*.eml"):
        message = parse(path.read_bytes())
        sent[message["To"].addresses[0].addr_spec] = message
    sections = {
        addr: {
            line for line in body(m, "plain").splitlines() if line in ("SECURITY", "ECONOMY", "GEOPOLITICS")
        }
        for addr, m in sent.items()
    }
    assert sections["sec@example.org"] <= {"SECURITY"}
    assert "ECONOMY" not in body(sent["sec@example.org"], "plain")
    assert sections["econ@example.org"] <= {"ECONOMY", "GEOPOLITICS"} and sections["econ@example.org"]
    assert sections["all@example.org"] >= {"SECURITY", "ECONOMY"}
    text = body(sent["sec2@example.org"], "plain")
    assert "Hello reader," in text
    prefs = next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Choose sections: "))
    token = prefs.rsplit("/preferences/", 1)[1]
    with session_scope(week.engine) as session:
        sub = session.exec(select(Delivery).where(Delivery.recipient == "sec2@example.org")).one()
    assert read_token(week.signing_key, "preferences", token) == sub.subscriber_id
    assert prefs.startswith(week.settings.web.public_url)


def test_an_empty_week_sends_nothing_or_a_short_note(app: App, clock: time_machine.Traveller) -> None:
    result = open_edition(app, app.settings.digest)
    assert result.digest is None and "no new articles" in result.reason
    app.settings.digest.empty_week = "note"
    note = open_edition(app, app.settings.digest).digest
    assert note is not None and note.article_ids == []
    assert "no new stories" in note.subject and "no new stories this week" in note.text.lower()


def rsa_key() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import base64

    return private, base64.b64encode(public)


def test_every_message_is_dkim_signed_over_its_own_list_unsubscribe(week: App, tmp_path: Path) -> None:
    private, public = rsa_key()
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(private)
    week.settings.email.dkim_selector, week.settings.email.dkim_domain = "s2026", "meridian-review.example"
    week.settings.email.dkim_private_key_file = key_file
    import_csv(week, EXAMPLE_SUBSCRIBERS)
    digest = open_edition(week, week.settings.digest).digest
    assert digest is not None
    queue_edition(week, week.settings.digest, digest)
    assert dispatch(week, ["email"])["email"].sent == 5

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"s2026._domainkey.meridian-review.example."
        return b"v=DKIM1; k=rsa; p=" + public

    for path in week.settings.email_dir.glob("*.eml"):
        data = path.read_bytes()
        assert dkim.verify(data, dnsfunc=dns)
        signature = parse(data)["DKIM-Signature"].replace(" ", "").replace("\r\n", "")
        signed = signature.split("h=", 1)[1].split(";", 1)[0].lower().split(":")
        assert {
            "from",
            "subject",
            "date",
            "to",
            "message-id",
            "list-unsubscribe",
            "list-unsubscribe-post",
        } <= set(signed)
        tampered = data.replace(b"/unsubscribe/", b"/unsubscribe/x", 1)
        assert not dkim.verify(tampered, dnsfunc=dns)


def test_dkim_settings_errors_name_what_to_fix(week: App, tmp_path: Path) -> None:
    email_settings = week.settings.email.model_copy(update={"dkim_selector": "s1"})
    with pytest.raises(ConfigError, match="email.dkim_domain"):
        signer_from_settings(email_settings)
    secret = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
    bad = email_settings.model_copy(
        update={"dkim_domain": "x.example", "dkim_private_key": SecretStr(secret)}
    )
    with pytest.raises(ConfigError) as info:
        signer_from_settings(bad)
    assert "not a key" not in str(info.value)


def test_a_digest_over_gmails_clip_limit_is_flagged_with_its_size(
    week: App, caplog: pytest.LogCaptureFixture
) -> None:
    week.settings.digest.max_html_bytes = 20_000
    result = open_edition(week, week.settings.digest)
    assert result.warning is not None and "KB" in result.warning and "Gmail clips" in result.warning
    assert "Gmail clips" in caplog.text
    preview = render_preview(week, week.settings.digest, result.digest)  # type: ignore[arg-type]
    assert preview.warning == result.warning


def run_distro(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``distro`` as the editor runs it: a subprocess in a scratch directory on SQLite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRO_")}
    env.update(DISTRO_DATABASE_URL=f"sqlite:///{workdir / 'distro.db'}", COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "distro.cli", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def editor_dir(tmp_path: Path) -> Path:
    for name in ("templates", "examples", "config"):
        shutil.copytree(ROOT / name, tmp_path / name)
    assert run_distro(tmp_path, "ingest").returncode == 0
    return tmp_path


def test_cli_digest_edit_recomposes_and_preview_shows_it(editor_dir: Path) -> None:
    (editor_dir / "intro.md").write_text("An **unusual** week at the desk.\n", encoding="utf-8")
    edit = run_distro(
        editor_dir, "digest", "edit", "--intro", "intro.md", "--max-stories", "3", "--exclude", "1"
    )
    assert edit.returncode == 0, edit.stderr
    assert re.search(r"digest \S+-W\d\d: 3 stories, '", edit.stdout)
    shown = run_distro(editor_dir, "digest", "preview")
    assert shown.returncode == 0, shown.stderr
    html_path = Path(shown.stdout.split()[0])
    assert "<strong>unusual</strong>" in html_path.read_text(encoding="utf-8")
    missing = run_distro(editor_dir, "digest", "edit", "--intro", "nowhere.md")
    assert missing.returncode == 1 and "--intro nowhere.md" in missing.stderr + missing.stdout
    assert "Traceback" not in missing.stderr


def test_cli_digest_test_sends_one_marked_copy_logged_apart(editor_dir: Path) -> None:
    sent = run_distro(editor_dir, "digest", "test", "--to", "editor@example.org")
    assert sent.returncode == 0, sent.stderr
    assert re.search(r"test:\S+-W\d\d:1: sent to editor@example.org", sent.stdout), sent.stdout
    files = list((editor_dir / "var" / "outbox" / "email").glob("*.eml"))
    assert len(files) == 1 and parse(files[0].read_bytes())["Subject"].startswith("[TEST] ")
    log = json.loads(run_distro(editor_dir, "log", "--format", "json").stdout)
    assert [row["recipient"] for row in log] == ["editor@example.org"]


def test_an_edition_previewed_days_before_goes_out_with_the_stories_that_arrived_since(
    app: App, clock: time_machine.Traveller
) -> None:
    """The scheduler composes the edition again at its time: later stories join, the editor's pin stays."""
    from datetime import timedelta

    from distro.services.digest_calendar import digest_slug, upcoming_at
    from distro.services.digest_send import send_edition

    ingest(app)  # on Friday 2026-11-27 12:00 UTC, the pinned clock
    add_subscriber(app, "reader@example.org")
    monday = upcoming_at(app, app.settings.digest)  # the edition the next scheduled run sends
    with session_scope(app.engine) as session:
        pinned = session.exec(select(Article.id).order_by(Article.id)).first()
    previewed = save_edit(app, app.settings.digest, EditChanges(pin=pinned), at=monday).digest
    assert (
        previewed is not None
        and previewed.slug == digest_slug(app.settings.digest, monday) == "weekly-2026-W49"
    )
    assert previewed.article_ids[0] == pinned
    sunday = FRIDAY + timedelta(days=2)
    with session_scope(app.engine) as session:
        late = Article(
            url="https://meridian-review.example/late",
            title="A Sunday Scoop",
            section="Security",
            first_seen_at=sunday,
            published_at=sunday,
        )
        session.add(late)
        session.flush()
        late_id = late.id
    clock.move_to(monday)
    result = send_edition(app, app.settings.digest, refresh=True)  # the digest job at Monday 07:00
    assert result.digest is not None and result.digest.slug == previewed.slug and result.queued == 1
    assert result.digest.article_ids[0] == pinned and late_id in result.digest.article_ids
    assert result.digest.window_end == monday


def test_the_recipient_count_is_exactly_who_gets_a_row(week: App) -> None:
    """ "Send to N?" counts what queueing queues: suppressed, unsubscribed and paused readers are in
    neither (the old count took every active subscriber, suppressed ones too)."""
    from datetime import timedelta

    from distro.models import Subscriber, SubscriberStatus, utcnow
    from distro.services.digest_send import Ready, count_recipients, send_edition
    from distro.services.suppression import suppress

    for address in ("a@example.org", "b@example.org", "bounced@example.org", "gone@example.org"):
        add_subscriber(week, address)
    add_subscriber(week, "paused@example.org")
    suppress(week.engine, "Bounced@Example.org ", "hard_bounce", "5.1.1")
    with session_scope(week.engine) as session:
        rows = {s.email: s for s in session.exec(select(Subscriber))}
        rows["paused@example.org"].paused_until = utcnow() + timedelta(days=7)
        rows["gone@example.org"].status = SubscriberStatus.UNSUBSCRIBED
        session.add_all(rows.values())
    newsletter = week.settings.digest
    assert count_recipients(week, newsletter) == 2
    asked: list[Ready] = []
    sent = send_edition(week, newsletter, confirm=lambda ready: asked.append(ready) or True)
    assert [ready.recipients for ready in asked] == [sent.queued] == [2] and sent.recipients == 2
    with session_scope(week.engine) as session:
        queued = set(session.exec(select(Delivery.recipient)))
    assert queued == {"a@example.org", "b@example.org"}
    declined = send_edition(week, newsletter, confirm=lambda ready: False)
    assert not declined.confirmed and declined.queued == 0


def test_cli_digest_send_asks_about_exactly_the_readers_it_queues(editor_dir: Path) -> None:
    people = editor_dir / "people.csv"
    people.write_text(
        "email,name,status\nok@example.org,,active\nblocked@example.org,,suppressed\n"
        "left@example.org,,unsubscribed\n",
        encoding="utf-8",
    )
    assert run_distro(editor_dir, "subscribers", "import", str(people)).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRO_")}
    env.update(DISTRO_DATABASE_URL=f"sqlite:///{editor_dir / 'distro.db'}", COLUMNS="200")
    asked = subprocess.run(
        [sys.executable, "-m", "distro.cli", "digest", "send", "--no-dispatch"],
        cwd=editor_dir,
        env=env,
        input="n\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert asked.returncode == 1 and "' to 1 subscribers?" in asked.stdout, asked.stdout + asked.stderr
    sent = run_distro(editor_dir, "digest", "send", "--yes", "--no-dispatch")
    assert sent.returncode == 0 and "1 new deliveries queued (1 recipients)" in sent.stdout, sent.stdout
