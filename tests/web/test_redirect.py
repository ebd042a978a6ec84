"""The redirector (``/r/<token>``) and the open pixel (``/o/<token>.gif``) through FastAPI's TestClient, on
SQLite and PostgreSQL: only links distro stored are followed, and only people are counted."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient

from distro.app import App
from distro.errors import NotFound
from distro.models import Digest
from distro.services.clicks import click_totals, clicks_of, opens_of, totals_by_edition
from distro.services.digest_compose import open_edition
from distro.services.ingest import ingest
from distro.services.tracking import CLICK_SCOPE, OPEN_SCOPE, READER_SCOPE, SOCIAL_SCOPE
from distro.store import clicks as stored
from distro.tokens import make_token, sign_fields
from distro.web.app import create_web_app
from tests.test_scanners import MACHINES, PEOPLE

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Safari/537.36"
)
OTHER_BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
_TRACKED = re.compile(r'href="https?://[^/"]+(/r/[^"?]+)')


@pytest.fixture
def edition(app: App, clock: time_machine.Traveller) -> Digest:
    """The example week's edition, composed at the pinned instant with the default tracking settings."""
    app.settings.x.enabled = app.settings.facebook.enabled = False
    ingest(app)
    digest = open_edition(app, app.settings.digest).digest
    assert digest is not None
    return digest


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app), client=("198.51.100.7", 50000)) as test_client:
        yield test_client


def tracked(html: str) -> list[str]:
    """The edition's tracked link paths, in order, once each."""
    return list(dict.fromkeys(_TRACKED.findall(html)))


def click(client: TestClient, path: str, agent: str = BROWSER, method: str = "GET") -> object:
    return client.request(method, path, headers={"user-agent": agent}, follow_redirects=False)


def hits(app: App, table: str) -> list[dict[str, object]]:
    with app.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.text(f"SELECT * FROM {table}"))]


def test_a_signed_link_redirects_to_its_stored_utm_url_and_counts(
    app: App, edition: Digest, client: TestClient
) -> None:
    links = stored.links_of(app.engine, edition.slug)
    paths = tracked(edition.html)
    assert len(paths) == len(links) > 3  # every story, the home page; numbered in order
    story = next(link for link in links if link.article_id is not None)
    response = client.get(paths[story.position - 1], headers={"user-agent": BROWSER}, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == story.url and "utm_campaign=weekly-2026-W48" in story.url
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    counted = {c.index: c for c in clicks_of(app, edition.id or 0)}
    assert (counted[story.position].clicks, counted[story.position].unique) == (1, 1)
    assert counted[story.position].title == story.title and counted[story.position].url == story.url
    assert sum(c.clicks for c in counted.values()) == 1
    assert click_totals(app, edition.id or 0).clicks == 1


def _bad_tokens(edition: Digest, good: str) -> dict[str, str]:
    token = good.removeprefix("/r/")
    body, tag = token.split(".")
    flipped = ("B" if tag[0] == "A" else "A") + tag[1:]
    key = b"golden-but-not-ours"
    return {
        "tampered tag": f"{body}.{flipped}",
        "tampered body": sign_fields(b"x", CLICK_SCOPE, edition.slug, 2).split(".")[0] + f".{tag}",
        "truncated": token[:-4],
        "no tag": body,
        "another key": sign_fields(key, CLICK_SCOPE, edition.slug, 1),
        "unknown link": "",  # filled in by the test: signed, but no such number
        "unknown edition": "",
        "unsubscribe scope": make_token(b"", "unsubscribe", 1),
        "open scope": "",
        "reader scope": "",
        "social post never planned": "",
        "garbage": "not-a-token",
        "very long": "A" * 5000 + "." + "B" * 22,
        "dots": "....",
    }


def test_forged_altered_unknown_or_foreign_tokens_answer_404_and_count_nothing(
    app: App, edition: Digest, client: TestClient
) -> None:
    key = app.signing_key
    bad = _bad_tokens(edition, tracked(edition.html)[0])
    bad["unknown link"] = sign_fields(key, CLICK_SCOPE, edition.slug, 999)
    bad["unknown edition"] = sign_fields(key, CLICK_SCOPE, "weekly-1999-W01", 1)
    bad["unsubscribe scope"] = make_token(key, "unsubscribe", 1)
    bad["open scope"] = sign_fields(key, OPEN_SCOPE, edition.slug)
    bad["reader scope"] = sign_fields(key, READER_SCOPE, edition.slug, 1)
    bad["social post never planned"] = sign_fields(key, SOCIAL_SCOPE, edition.article_ids[0], "x")
    for name, token in bad.items():
        response = click(client, f"/r/{token}")
        assert response.status_code == 404, name  # type: ignore[attr-defined]
        assert "location" not in response.headers, name  # type: ignore[attr-defined]
        assert response.headers["cache-control"] == "no-store"  # type: ignore[attr-defined]
        assert "not valid" in response.text  # type: ignore[attr-defined]
    assert hits(app, "linkclick") == []
    assert click(client, "/o/" + bad["unknown link"] + ".gif").status_code == 404  # type: ignore[attr-defined]
    assert hits(app, "openhit") == []


def test_head_is_not_a_click(app: App, edition: Digest, client: TestClient) -> None:
    response = click(client, tracked(edition.html)[1], method="HEAD")
    assert response.status_code == 302 and response.headers["location"]  # type: ignore[attr-defined]
    assert [h["kind"] for h in hits(app, "linkclick")] == ["head"]
    totals = click_totals(app, edition.id or 0)
    assert (totals.clicks, totals.discounted) == (0, {"head": 1})


def test_scanner_user_agents_are_redirected_but_not_counted(
    app: App, edition: Digest, client: TestClient, clock: time_machine.Traveller
) -> None:
    path = tracked(edition.html)[1]
    for agent in MACHINES.values():
        assert click(client, path, agent).status_code == 302  # type: ignore[attr-defined]
        clock.shift(timedelta(minutes=1))
    assert {h["kind"] for h in hits(app, "linkclick")} == {"scanner"}
    totals = click_totals(app, edition.id or 0)
    assert (totals.clicks, totals.unique, totals.discounted) == (0, 0, {"scanner": len(MACHINES)})


def test_a_burst_is_discounted_while_a_persons_later_click_counts(
    app: App, edition: Digest, client: TestClient, clock: time_machine.Traveller
) -> None:
    """A scanner that names itself like a browser walks every link within a second each: the first two
    hits look human until the third shows the burst, and then all of them are discounted."""
    paths = tracked(edition.html)
    for number, path in enumerate(paths[:2]):
        click(client, path)
        clock.shift(timedelta(seconds=1))
        assert click_totals(app, edition.id or 0).clicks == number + 1
    for path in paths[2:]:
        click(client, path)
        clock.shift(timedelta(milliseconds=700))
    totals = click_totals(app, edition.id or 0)
    assert (totals.clicks, totals.discounted) == (0, {"burst": len(paths)})
    clock.shift(timedelta(minutes=3))
    click(client, paths[1], OTHER_BROWSER)  # the person behind the scanner, later, in their browser
    clock.shift(timedelta(hours=1))
    click(client, paths[2])  # the same visitor as the burst, an hour on: a click like any other
    totals = click_totals(app, edition.id or 0)
    assert (totals.clicks, totals.unique) == (2, 2)
    assert [c.clicks for c in clicks_of(app, edition.id or 0)][1:3] == [1, 1]


def test_two_hits_of_two_links_are_not_a_burst_in_a_long_edition(
    app: App, edition: Digest, client: TestClient
) -> None:
    """A person opening two stories into tabs at once is not a scanner (three distinct links are)."""
    paths = tracked(edition.html)
    click(client, paths[1])
    click(client, paths[2])
    assert click_totals(app, edition.id or 0).clicks == 2


def test_total_and_unique_clicks_per_link_and_per_edition(
    app: App, edition: Digest, client: TestClient, clock: time_machine.Traveller
) -> None:
    paths = tracked(edition.html)
    for path, agent in [
        (paths[1], BROWSER),
        (paths[1], BROWSER),
        (paths[2], BROWSER),
        (paths[1], OTHER_BROWSER),
    ]:
        click(client, path, agent)
        clock.shift(timedelta(minutes=2))
    per_link = {c.index: (c.clicks, c.unique) for c in clicks_of(app, edition.id or 0)}
    assert per_link[2] == (3, 2) and per_link[3] == (1, 1)
    assert sum(total for total, _ in per_link.values()) == 4
    totals = click_totals(app, edition.id or 0)
    assert (totals.clicks, totals.unique) == (4, 2)  # two people, one of them on two links
    assert totals_by_edition(app, [edition.id or 0, 999]) == {edition.id: totals}


def test_the_visitor_key_rotates_so_periods_do_not_link(
    app: App, edition: Digest, client: TestClient, clock: time_machine.Traveller
) -> None:
    path = tracked(edition.html)[1]
    click(client, path)
    clock.shift(timedelta(days=app.settings.tracking.visitor_key_days))
    click(client, path)
    first, second = (h["visitor"] for h in hits(app, "linkclick"))
    assert first != second and len(str(first)) == 32
    assert click_totals(app, edition.id or 0).unique == 2


def test_a_failure_to_record_still_redirects_and_a_lost_database_answers_503(
    app: App, edition: Digest, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    path = tracked(edition.html)[1]
    with app.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE linkclick"))
    with caplog.at_level(logging.ERROR, "distro.services.clicks"):
        response = click(client, path)
    assert response.status_code == 302 and response.headers["location"]  # type: ignore[attr-defined]
    assert "could not be recorded" in caplog.text
    with app.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE digestlink"))
    response = click(client, path)
    assert response.status_code == 503 and "location" not in response.headers  # type: ignore[attr-defined]


def test_opens_are_off_by_default(app: App, edition: Digest) -> None:
    assert "/o/" not in edition.html
    assert opens_of(app, edition.id or 0).opens == 0


def test_with_opens_on_the_pixel_counts_people_and_apart_machine_opens(
    app: App, clock: time_machine.Traveller
) -> None:
    app.settings.tracking.opens = True
    app.settings.x.enabled = app.settings.facebook.enabled = False
    ingest(app)
    digest = open_edition(app, app.settings.digest).digest
    assert digest is not None
    (pixel,) = re.findall(r'<img src="https?://[^/"]+(/o/[^"]+\.gif)"', digest.html)
    apple_mail = PEOPLE["an iOS in-app browser (Gmail)"]  # Apple Mail on iOS says the same
    web = create_web_app(app)
    for client_ip, agent in [
        ("198.51.100.7", apple_mail),  # a person's iPhone showing the message
        ("198.51.100.7", apple_mail),  # ... twice: one unique opener
        ("203.0.113.9", OTHER_BROWSER),  # another person, in webmail
        ("17.58.101.2", apple_mail),  # Apple's Mail Privacy Protection proxy, by its network
        ("203.0.113.10", "Mozilla/5.0"),  # ... by its bare user agent
        (
            "66.249.84.1",
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
        ),
    ]:
        with TestClient(web, client=(client_ip, 50000)) as client:
            response = client.get(pixel, headers={"user-agent": agent})
        assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
        assert response.headers["cache-control"] == "no-store" and response.content.startswith(b"GIF89a")
    with TestClient(web) as client:
        assert client.head(pixel).status_code == 200
    opens = opens_of(app, digest.id or 0)
    assert (opens.opens, opens.unique, opens.machine) == (3, 2, 3)
    assert sorted(str(h["kind"]) for h in hits(app, "openhit")).count("head") == 1


def test_every_route_answers_within_its_declared_statuses(app: App) -> None:
    paths = create_web_app(app).openapi()["paths"]
    assert set(paths["/r/{token}"]["get"]["responses"]) == {"302", "404", "422", "503"}
    assert set(paths["/o/{token}.gif"]["get"]["responses"]) == {"200", "404", "422", "503"}


def test_the_figures_of_an_unknown_edition_are_not_found(app: App) -> None:
    for figures in (clicks_of, click_totals, opens_of):
        with pytest.raises(NotFound):
            figures(app, 999)
