"""The public web archive through TestClient, on SQLite and PostgreSQL: what is shown (sent editions only,
newest first, 20 a page, per newsletter), what is kept out (unsent, kept out per edition or per
newsletter), that nothing personal is on a page or in a feed, the Atom feeds, and the "View in browser"
link of every message.

Every test lives at the pinned instant (the ``clock`` fixture: Friday 2026-11-27 12:00 UTC), when the
example week's articles arrive and this week's edition is ``weekly-2026-W48``.
"""

from __future__ import annotations

import email
import html
import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from typing import Any

import feedparser
import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from distro.app import App
from distro.cli import cli
from distro.compose.message import PreparedMessage
from distro.db import session_scope
from distro.errors import NotFound
from distro.models import Article, Digest, DigestStatus, Subscriber
from distro.services import archive
from distro.services.delivery import dispatch
from distro.services.digest_compose import open_edition
from distro.services.digest_send import send_edition
from distro.services.ingest import ingest
from distro.services.personal import PREFERENCES_SCOPE, UNSUBSCRIBE_SCOPE, personal_for
from distro.services.subscribers import add_subscriber
from distro.settings import NewsletterSettings
from distro.tokens import make_token
from distro.web.app import create_web_app
from tests.conftest import FRIDAY
from tests.web.desk import signed_in

READERS = {"amira.quill@example.org": "Amira Quill", "bea.marsh@example.net": "Bea Marsh"}  # not in the feed
SLUG = "weekly-2026-W48"
FEED_LINK = re.compile(r'<link rel="alternate" type="application/atom\+xml" title="[^"]*" href="([^"]+)">')


@pytest.fixture
def week(app: App, clock: time_machine.Traveller) -> App:
    """The example week's articles and two readers with names, at the pinned instant."""
    app.settings.x.enabled = app.settings.facebook.enabled = False
    ingest(app)
    for address, name in READERS.items():
        add_subscriber(app, address, name)
    return app


@pytest.fixture
def client(week: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(week)) as test_client:
        yield test_client


def sent(app: App) -> Digest:
    """This week's edition, queued for every reader: sent, as far as the archive is concerned."""
    digest = send_edition(app, app.settings.digest).digest
    assert digest is not None and digest.slug == SLUG and digest.status == DigestStatus.QUEUED
    return digest


def seed(app: App, count: int, newsletter: str = "weekly", **fields: Any) -> list[str]:
    """``count`` queued editions of ``newsletter``, one a day back from now; their slugs, newest first."""
    slugs = [f"{newsletter}-2026-{index:03d}" for index in range(count)]
    with session_scope(app.engine) as session:
        for index, slug in enumerate(slugs):
            when = FRIDAY - timedelta(days=index + 1)
            row = {
                "slug": slug,
                "newsletter": newsletter,
                "status": DigestStatus.QUEUED,
                "subject": f"Edition {slug}",
                "window_start": when,
                "window_end": when,
                "html": f"<!doctype html><html><body><p>Stories of {slug}</p></body></html>",
                "text": "",
                "message_template": "",
                "queued_at": when,
                **fields,
            }
            session.add(Digest(**row))
    return slugs


def listed(page: str) -> list[str]:
    return re.findall(r'<li><a href="http://localhost:8000/archive/([^"]+)">', page)


def personal_values(app: App) -> list[str]:
    """Every reader's address, name and link tokens: none may be on a public page."""
    found: list[str] = []
    with session_scope(app.engine) as session:
        for reader in session.exec(select(Subscriber)):
            assert reader.id is not None
            found += [reader.email, *(reader.name or "").split()]
            found += [
                make_token(app.signing_key, s, reader.id) for s in (UNSUBSCRIBE_SCOPE, PREFERENCES_SCOPE)
            ]
    return found


def assert_nothing_personal(app: App, body: str) -> None:
    for value in personal_values(app):
        assert value not in body, value
    # tracked links and the open pixel would count a visit here as a reader's click or open
    for marker in (
        "%%DISTRO",
        "/unsubscribe/",
        "/preferences/",
        "unsubscribe@",
        "You are receiving this",
        "/r/",
        "/o/",
    ):
        assert marker not in body, marker


def test_a_sent_edition_is_public_with_nothing_personal_and_a_sign_up_form(
    week: App, client: TestClient
) -> None:
    digest = sent(week)
    page = client.get(f"/archive/{SLUG}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert_nothing_personal(week, page.text)
    assert "Hello reader," in page.text and html.escape(digest.subject, quote=False) in page.text
    assert "View in browser" not in page.text  # the email's own line, pointing here
    assert '<form method="post" action="http://localhost:8000/subscribe">' in page.text
    assert 'name="email"' in page.text and 'name="website"' in page.text  # the honeypot stays
    assert "newsletters" not in page.text  # one newsletter: nothing to choose
    csp = page.headers["content-security-policy"]
    assert "script-src 'none'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "<script" not in page.text.lower()
    assert page.headers["x-content-type-options"] == "nosniff"
    assert (FEED_LINK.search(page.text) or [None, None])[
        1
    ] == "http://localhost:8000/archive/weekly/feed.atom"


def test_an_edition_not_yet_sent_is_not_there(week: App, client: TestClient) -> None:
    digest = open_edition(week, week.settings.digest).digest  # composed, previewed, not queued
    assert digest is not None and digest.slug == SLUG
    assert client.get(f"/archive/{SLUG}").status_code == 404
    assert listed(client.get("/archive/").text) == []
    assert feedparser.parse(client.get("/archive/feed.atom").content).entries == []
    sent(week)
    before = archive.listing(week, None, now=FRIDAY - timedelta(seconds=1))  # queued at FRIDAY
    assert before.entries == [] and [e.slug for e in archive.listing(week, None).entries] == [SLUG]


def test_lists_are_newest_first_twenty_a_page(week: App, client: TestClient) -> None:
    slugs = seed(week, 45)
    first, second, third = (client.get("/archive/", params={"page": n}) for n in (1, 2, 3))
    assert listed(first.text) == slugs[:20] and listed(second.text) == slugs[20:40]
    assert listed(third.text) == slugs[40:]
    assert 'rel="next" href="http://localhost:8000/archive/?page=2"' in first.text
    assert 'rel="prev" href="http://localhost:8000/archive/"' in second.text
    assert "Page 3 of 3" in third.text and 'rel="next"' not in third.text
    assert listed(client.get("/archive/weekly/", params={"page": 3}).text) == slugs[40:]
    assert client.get("/archive/", params={"page": 4}).status_code == 404
    for bad in ("0", "-1", "abc", "1e3", str(10**30)):
        assert client.get("/archive/", params={"page": bad}).status_code == 422, bad


def test_each_newsletter_has_its_own_list_and_urls_cannot_clash(week: App, client: TestClient) -> None:
    week.settings.newsletters.append(NewsletterSettings(slug_prefix="security", name="Security brief"))
    weekly, security = seed(week, 2), seed(week, 3, "security")
    assert listed(client.get("/archive/weekly/").text) == weekly
    assert listed(client.get("/archive/security/").text) == security
    assert set(listed(client.get("/archive/").text)) == {*weekly, *security}
    page = client.get(f"/archive/{security[0]}")
    assert page.status_code == 200 and f"Stories of {security[0]}" in page.text
    assert 'name="newsletters" value="security"' in page.text  # the form signs up for this newsletter
    moved = client.get("/archive/security", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "http://localhost:8000/archive/security/"
    for unknown in (
        "/archive/daily/",
        "/archive/daily/feed.atom",
        "/archive/weekly-2026-W01",
        "/archive/x/y",
    ):
        assert client.get(unknown).status_code == 404, unknown
    for odd in (f"/archive/{weekly[0]}/", "/archive/a%00b", "/archive/%2e%2e", "/archive/" + "w-" * 300):
        assert client.get(odd).status_code in (404, 422), odd


def test_an_editor_keeps_an_edition_out_and_a_newsletter_can_be_left_out(
    week: App, client: TestClient
) -> None:
    kept, shown = seed(week, 2)
    archive.set_archived(week, kept, False)
    assert client.get(f"/archive/{kept}").status_code == 404
    assert listed(client.get("/archive/").text) == [shown]
    feed = feedparser.parse(client.get("/archive/feed.atom").content)
    assert [e.link for e in feed.entries] == [f"http://localhost:8000/archive/{shown}"]
    archive.set_archived(week, kept, True)
    assert client.get(f"/archive/{kept}").status_code == 200

    week.settings.digest.archive = False
    for path in (f"/archive/{kept}", "/archive/weekly/", "/archive/weekly/feed.atom"):
        assert client.get(path).status_code == 404, path
    assert listed(client.get("/archive/").text) == []
    assert feedparser.parse(client.get("/archive/feed.atom").content).entries == []


@pytest.mark.parametrize("path", ["/archive/feed.atom", "/archive/weekly/feed.atom"])
def test_the_feed_is_valid_atom_with_each_edition_in_full(week: App, client: TestClient, path: str) -> None:
    digest = sent(week)
    answer = client.get(path)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/atom+xml")
    assert_nothing_personal(week, answer.text)
    feed = feedparser.parse(answer.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10" and feed.feed.id == f"http://localhost:8000{path}"
    assert feed.feed.title.startswith(week.settings.publication.name)
    assert feed.feed.author == week.settings.publication.name and feed.feed.updated.startswith("2026-11-27")
    (entry,) = feed.entries
    assert entry.id == entry.link == f"http://localhost:8000/archive/{SLUG}" and entry.title == digest.subject
    assert entry.updated == "2026-11-27T12:00:00Z"
    content = html.unescape(entry.content[0].value)
    assert entry.content[0].type == "text/html" and "Hello reader," in content
    with session_scope(week.engine) as session:
        title = session.get_one(Article, digest.article_ids[0]).title  # the lead story
    assert title in content


def test_every_archive_page_names_its_feed(week: App, client: TestClient) -> None:
    sent(week)
    for path in ("/archive/", "/archive/weekly/", f"/archive/{SLUG}"):
        found = FEED_LINK.search(client.get(path).text)
        assert found, path
        feed = client.get(found[1].removeprefix("http://localhost:8000"))
        assert feed.status_code == 200 and not feedparser.parse(feed.content).bozo


def test_unchanged_pages_answer_304(week: App, client: TestClient) -> None:
    sent(week)
    for path in ("/archive/", f"/archive/{SLUG}", "/archive/feed.atom"):
        first = client.get(path)
        assert first.headers["cache-control"] == "no-cache" and first.headers["etag"]
        again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b""


def message_parts(raw: bytes) -> tuple[str, str]:
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    text, page = (message.get_body(preferencelist=(kind,)) for kind in ("plain", "html"))
    assert text is not None and page is not None
    return str(text.get_content()), str(page.get_content())


def test_each_message_links_its_archive_page_in_both_parts(week: App, client: TestClient) -> None:
    digest = open_edition(week, week.settings.digest).digest
    assert digest is not None
    example = personal_for(
        week, digest_slug=SLUG, subscriber_id=1, email="a@example.org", name="A", delivery_id=1
    )
    text, page = message_parts(PreparedMessage.from_template(digest.message_template).render(example))
    url = f"http://localhost:8000/archive/{SLUG}"
    assert f"View in browser: {url}" in text and f'<a href="{url}"' in page
    assert client.get(f"/archive/{SLUG}").status_code == 404  # not before it is sent
    sent(week)
    dispatch(week, ["email"])
    delivered = sorted(week.settings.email_dir.rglob("*.eml"))
    assert len(delivered) == len(READERS)
    for raw in delivered:
        text, page = message_parts(raw.read_bytes())
        assert f"View in browser: {url}" in text and f'<a href="{url}"' in page
    assert client.get(url.removeprefix("http://localhost:8000")).status_code == 200


def test_a_newsletter_without_archive_sends_no_view_in_browser_link(week: App) -> None:
    week.settings.digest.archive = False
    digest = open_edition(week, week.settings.digest).digest
    assert digest is not None
    assert "View in browser" not in digest.html and "View in browser" not in digest.text
    assert "/archive/" not in digest.message_template


def test_the_desk_switches_an_edition_out_of_the_archive_and_back(week: App, client: TestClient) -> None:
    sent(week)
    csrf = signed_in(week, client, "/desk/digest")
    page = client.get("/desk/digest").text
    assert f'name="slug" value="{SLUG}"' in page and "Keep out of the archive" in page
    form = {"csrf_token": csrf, "newsletter": "", "slug": SLUG, "archived": "off"}
    assert client.post("/desk/digest/archive", data={**form, "csrf_token": "wrong"}).status_code == 403
    assert client.get(f"/archive/{SLUG}").status_code == 200
    done = client.post("/desk/digest/archive", data=form, follow_redirects=True)
    assert f"{SLUG} is kept out of the archive." in done.text and "Show in the archive" in done.text
    assert client.get(f"/archive/{SLUG}").status_code == 404
    back = client.post("/desk/digest/archive", data={**form, "archived": "on"}, follow_redirects=True)
    assert f"{SLUG} is shown in the archive once sent." in back.text
    assert client.get(f"/archive/{SLUG}").status_code == 200
    unknown = client.post(
        "/desk/digest/archive", data={**form, "slug": "weekly-1999-W01"}, follow_redirects=True
    )
    assert "Not changed: no edition" in unknown.text


def test_distro_digest_archive_off_and_on(week: App, client: TestClient, database_url: str) -> None:
    sent(week)
    env = {"DISTRO_DATABASE_URL": database_url}
    off = CliRunner().invoke(cli, ["digest", "archive", SLUG, "--off"], env=env)
    assert off.exit_code == 0 and f"{SLUG}: kept out of the archive" in off.output, off.output
    assert client.get(f"/archive/{SLUG}").status_code == 404
    on = CliRunner().invoke(cli, ["digest", "archive", SLUG, "--on"], env=env)
    assert on.exit_code == 0 and "shown in the archive once sent" in on.output, on.output
    assert client.get(f"/archive/{SLUG}").status_code == 200
    missing = CliRunner().invoke(cli, ["digest", "archive", "weekly-1999-W01", "--off"], env=env)
    assert isinstance(missing.exception, NotFound)  # main() prints it as one line, exit status 1
