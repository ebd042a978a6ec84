"""Tracked links end to end, on SQLite and PostgreSQL: the messages as sent (HTML tracked, text direct, no
reader unless per_reader), section variants and recompositions sharing the edition's numbers, social
posts through the redirector, and what the database holds afterwards: no address, IP or user agent."""

from __future__ import annotations

import email
import re
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient

from distro.app import App
from distro.compose.social import article_link
from distro.models import Digest, SocialPost
from distro.platforms import bluesky, facebook, mastodon, x
from distro.services.clicks import (
    click_totals,
    social_clicks_of_article,
    social_clicks_of_edition,
)
from distro.services.delivery import dispatch
from distro.services.digest_compose import open_edition
from distro.services.digest_edit import EditChanges, save_edit
from distro.services.digest_send import queue_edition
from distro.services.ingest import ingest
from distro.services.privacy import export_subscriber, forget_subscriber
from distro.services.social import plan_social
from distro.services.subscribers import add_subscriber
from distro.services.tracking import CLICK_SCOPE, READER_SCOPE, direct_html
from distro.store import clicks as stored
from distro.tokens import read_fields, sign_fields
from distro.web.app import create_web_app

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
_LINK = re.compile(r'href="(https?://[^"]+/r/([^"?]+)(?:\?u=([^"]*))?)"')


@pytest.fixture
def week(app: App, clock: time_machine.Traveller) -> App:
    app.settings.x.enabled = app.settings.facebook.enabled = False
    ingest(app)
    return app


def edition_of(app: App) -> Digest:
    digest = open_edition(app, app.settings.digest).digest
    assert digest is not None
    return digest


def sent(app: App, digest: Digest) -> dict[str, EmailMessage]:
    """Queue and dispatch ``digest``; each recipient's message by address."""
    queue_edition(app, app.settings.digest, digest)
    dispatch(app, ["email"])
    messages = {}
    for path in sorted(Path(app.settings.email_dir).glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        messages[str(message["To"].addresses[0].addr_spec)] = message
    return messages


def part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body((subtype,))
    assert body is not None
    return str(body.get_content())


def test_the_html_part_is_tracked_the_text_part_keeps_direct_links_and_no_reader_is_named(
    week: App,
) -> None:
    add_subscriber(week, "amira@example.org", "Amira Haddad")
    digest = edition_of(week)
    message = sent(week, digest)["amira@example.org"]
    html, text = part(message, "html"), part(message, "plain")
    links = stored.links_of(week.engine, digest.slug)
    stories = [link for link in links if link.article_id is not None]
    assert stories and all(link.url in text for link in stories)  # readable direct links, UTM-tagged
    assert "/r/" not in text
    found = _LINK.findall(html)
    assert found and not any(reader for _, _, reader in found)  # per_reader is off: no ?u=
    assert not any(link.url.replace("&", "&amp;") in html for link in stories)
    for _, token, _ in found:
        edition, position = read_fields(week.signing_key, CLICK_SCOPE, token, 2)  # edition and link only
        assert edition == digest.slug and int(position) in {link.position for link in links}
    assert "/unsubscribe/" in html and "/preferences/" in html  # the reader's own links stay direct
    assert "/o/" not in html  # opens are off by default


def test_a_reader_token_counts_for_no_one_while_per_reader_is_off(week: App) -> None:
    digest = edition_of(week)
    (first, token, _), *_ = _LINK.findall(digest.html)
    reader = sign_fields(week.signing_key, READER_SCOPE, digest.slug, 1)
    with TestClient(create_web_app(week)) as client:
        response = client.get(
            f"/r/{token}?u={reader}", headers={"user-agent": BROWSER}, follow_redirects=False
        )
    assert response.status_code == 302
    with week.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT subscriber_id FROM linkclick")).all() == [(None,)]


def test_per_reader_names_the_subscriber_and_forgetting_them_deletes_their_clicks(
    week: App, clock: time_machine.Traveller
) -> None:
    week.settings.tracking.per_reader = week.settings.tracking.opens = True
    add_subscriber(week, "amira@example.org", "Amira Haddad")
    add_subscriber(week, "jon@example.org", "Jon")
    digest = edition_of(week)
    assert "%%DISTRO:html.reader%%" in digest.html  # one marker, filled per message
    messages = sent(week, digest)
    amira_links = _LINK.findall(part(messages["amira@example.org"], "html"))
    jon_links = _LINK.findall(part(messages["jon@example.org"], "html"))
    assert {token for _, token, _ in amira_links} == {token for _, token, _ in jon_links}  # one per variant
    readers = {reader for _, _, reader in amira_links} | {reader for _, _, reader in jon_links}
    assert len(readers) == 2
    with TestClient(create_web_app(week)) as client:
        url, _, _ = amira_links[1]
        assert client.get(url, headers={"user-agent": BROWSER}, follow_redirects=False).status_code == 302
        (pixel,) = re.findall(
            r'<img src="(https?://[^"]+/o/[^"]+)"', part(messages["amira@example.org"], "html")
        )
        assert client.get(pixel.replace("&amp;", "&"), headers={"user-agent": BROWSER}).status_code == 200
    export = export_subscriber(week, "amira@example.org")
    amira = export["subscriber"]["id"]
    assert [c["subscriber_id"] for c in export["clicks"]] == [amira]
    assert [o["subscriber_id"] for o in export["opens"]] == [amira]
    assert forget_subscriber(week, "amira@example.org")["clicks"] == 2
    with week.engine.connect() as connection:
        for table in ("linkclick", "openhit"):
            assert connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == 0


def _text_values(app: App) -> set[tuple[str, str, str]]:
    """Every non-empty text value in every column of every table, as (table, column, text)."""
    found: set[tuple[str, str, str]] = set()
    with app.engine.connect() as connection:
        for table in sa.inspect(connection).get_table_names():
            for row in connection.execute(sa.text(f'SELECT * FROM "{table}"')):
                for column, value in row._mapping.items():
                    if value is not None and not isinstance(value, int | float | bool):
                        found.add((table, str(column), str(value)))
    return found


@pytest.mark.parametrize("per_reader", [False, True])
def test_no_table_holds_a_clickers_ip_agent_or_address_in_clear(
    week: App, clock: time_machine.Traveller, per_reader: bool
) -> None:
    week.settings.tracking.per_reader = per_reader
    week.settings.tracking.opens = True
    addresses = ["amira@example.org", "jon.doe@example.net"]
    for address in addresses:
        add_subscriber(week, address, None)
    digest = edition_of(week)
    messages = sent(week, digest)
    before = _text_values(week)
    people = [
        ("203.0.113.77", "PrivacyProbe/1.0 Firefox/121.0 (amira@example.org)"),
        ("2001:db8::4d", BROWSER),
    ]
    for (client_ip, agent), address in zip(people, addresses, strict=True):
        html = part(messages[address], "html")
        with TestClient(create_web_app(week), client=(client_ip, 1234)) as client:
            for url, _, _ in _LINK.findall(html)[:2]:
                assert (
                    client.get(url, headers={"user-agent": agent}, follow_redirects=False).status_code == 302
                )
                clock.shift(timedelta(minutes=1))
            (pixel,) = re.findall(r'<img src="(https?://[^"]+/o/[^"]+)"', html)
            client.get(pixel.replace("&amp;", "&"), headers={"user-agent": agent})
    assert click_totals(week, digest.id or 0).clicks == 4
    after = _text_values(week)
    for table, column, value in after:
        for client_ip, agent in people:
            assert client_ip not in value and agent not in value, (table, column)
            assert "PrivacyProbe" not in value, (table, column)
    for table, column, value in after - before:  # what the clicks and opens added
        assert not any(address in value for address in addresses), (table, column, value)
        assert "@" not in value, (table, column, value)


def test_section_variants_use_the_editions_numbers(week: App) -> None:
    add_subscriber(week, "sec@example.org", "Sec", sections=["Security"])
    digest = edition_of(week)
    numbered = {(link.position, link.url) for link in stored.links_of(week.engine, digest.slug)}
    html = part(sent(week, digest)["sec@example.org"], "html")
    tokens = {token for _, token, _ in _LINK.findall(html)}
    full = {token for _, token, _ in _LINK.findall(digest.html)}
    assert tokens and tokens < full  # fewer stories, the same links and tokens
    assert {(link.position, link.url) for link in stored.links_of(week.engine, digest.slug)} == numbered


def test_recomposing_an_edition_keeps_every_number_and_adds_new_links_at_the_end(week: App) -> None:
    digest = edition_of(week)
    before = stored.links_of(week.engine, digest.slug)
    dropped = digest.article_ids[-1]
    intro = "Read [our policy](https://meridian-review.example/policy) first."
    save_edit(week, week.settings.digest, EditChanges(intro=intro, exclude=(dropped,)))
    after = {link.position: link for link in stored.links_of(week.engine, digest.slug)}
    assert all(after[link.position].url == link.url for link in before)  # sent tokens keep their target
    (added,) = [link for position, link in after.items() if position > len(before)]
    assert added.url == "https://meridian-review.example/policy" and added.title == "our policy"
    recomposed = edition_of(week)
    assert direct_html(week, digest.slug, recomposed.html).count(
        'href="https://meridian-review.example/policy"'
    )


def test_direct_html_undoes_tracking_for_copies_that_are_not_a_readers(week: App) -> None:
    week.settings.tracking.opens = week.settings.tracking.per_reader = True
    digest = edition_of(week)
    html = direct_html(week, digest.slug, digest.html)
    assert "/r/" not in html and "/o/" not in html and "%%DISTRO:html.reader%%" not in html
    for link in stored.links_of(week.engine, digest.slug):
        assert f'href="{link.url.replace("&", "&amp;")}"' in html


LIMITS = {"x": (x.length, x.LIMIT), "mastodon": (mastodon.length, 500), "bluesky": (bluesky.length, 300)}


def test_social_links_go_through_the_redirector_and_count_per_platform(
    app: App, clock: time_machine.Traveller
) -> None:
    app.settings.tracking.social_links = True
    app.settings.mastodon.enabled = app.settings.bluesky.enabled = True
    app.settings.web.public_url = "https://news.meridian-review.example"
    ingest(app)
    assert plan_social(app) > 0
    with app.engine.connect() as connection:
        posts = [SocialPost(**row._mapping) for row in connection.execute(sa.select(SocialPost))]
    assert {post.platform for post in posts} == {"x", "facebook", "mastodon", "bluesky"}
    for post in posts:
        if post.platform == "facebook":
            assert str(post.body["link"]).startswith("https://news.meridian-review.example/r/")
            assert facebook.length(post.text) <= facebook.LIMIT
            continue
        measure, limit = LIMITS[post.platform]
        assert "https://news.meridian-review.example/r/" in post.text and "utm_" not in post.text
        assert measure(post.text) <= limit, (post.platform, post.text)
    article_id = posts[0].article_id
    article_posts = {p.platform: p for p in posts if p.article_id == article_id}
    with TestClient(create_web_app(app)) as client:
        for platform, post in article_posts.items():
            link = (
                str(post.body["link"])
                if platform == "facebook"
                else re.findall(r"https://\S+/r/\S+", post.text)[0]
            )
            response = client.get(link, headers={"user-agent": BROWSER}, follow_redirects=False)
            assert response.status_code == 302
            (url,) = [a for a in _article_urls(app, article_id)]
            assert response.headers["location"] == article_link(url, platform)
            assert f"utm_source={platform}" in response.headers["location"]
    counted = {c.platform: (c.clicks, c.unique) for c in social_clicks_of_article(app, article_id)}
    assert counted == {platform: (1, 1) for platform in article_posts}
    digest = open_edition(app, app.settings.digest).digest
    assert digest is not None and article_id in digest.article_ids
    assert {c.platform for c in social_clicks_of_edition(app, digest.id or 0)} == set(article_posts)
    assert click_totals(app, digest.id or 0).clicks == 0  # social clicks are not the email's


def _article_urls(app: App, article_id: int) -> list[str]:
    with app.engine.connect() as connection:
        return list(
            connection.execute(sa.text("SELECT url FROM article WHERE id = :i"), {"i": article_id}).scalars()
        )
