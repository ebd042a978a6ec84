"""The desk's delivery log (/desk/log): filters, pages that keep them, the sends-and-failures chart and
escaping, over deliveries made by the real pipeline (two small digests over SMTP to a real server on
loopback that refuses one address, x posts to the file sink). Each filter is checked against the rows
it must include and exclude, computed here straight from the table; the chart's bar titles against counts
bucketed here in Python. The clock is pinned (the ``clock`` fixture, Friday 2026-11-27 12:00 UTC) for every
test, so "today" and "three days ago" are known days and no run straddles midnight."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient

from distro.app import App
from distro.compose.message import build_message_template
from distro.db import session_scope
from distro.models import Delivery, Digest, utcnow
from distro.outbox import enqueue_many
from distro.services.delivery import dispatch
from distro.services.digest_send import queue_edition
from distro.services.ingest import ingest
from distro.services.social import plan_social
from distro.services.subscribers import add_subscriber
from distro.web.app import create_web_app
from tests.fakes.smtp_server import running_smtp_server
from tests.test_worker import add_subscribers
from tests.web.desk import signed_in

D = Delivery.__table__  # type: ignore[attr-defined]
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
BOUNCE = "Bounce.Me@example.org"
READERS = 54  # with the bounce: 55 rows per digest, so each digest's rows fill one page and part of another
POSTS = 3
LONDON = ZoneInfo("Europe/London")
HOSTILE = '<script>alert("x")</script>@evil.example'


@pytest.fixture(autouse=True)
def pinned(clock: time_machine.Traveller) -> None:
    """Each test, its fixtures included, at the clock fixture's instant."""


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app)) as test_client:
        yield test_client


def small_digest(app: App, slug: str) -> None:
    """A digest with a one-line body, queued to every subscriber (composing is tested elsewhere)."""
    now = utcnow()
    template = build_message_template(
        settings=app.settings, slug=slug, subject=slug, html="<p>Hi</p>", text="Hi"
    )
    digest = Digest(
        slug=slug, subject=slug, window_start=now, window_end=now, html="", text="", message_template=template
    )
    with session_scope(app.engine) as session:
        session.add(digest)
    assert queue_edition(app, app.settings.digest, digest).queued == READERS + 1


def seed(app: App) -> str:
    """Two digests ("weekly-now", and "tiny" moved three days back) to 55 readers, one refusing at RCPT,
    three x posts, and one hostile address queued by hand. Returns the first digest's slug."""
    app.settings.facebook.enabled = False
    app.settings.dispatch.hard_bounce_limit = 5  # the address bounces in both digests, not suppressed
    ingest(app, backfill=POSTS)  # the other articles are back catalogue: never posted
    add_subscribers(app, READERS)
    assert add_subscriber(app, BOUNCE)
    small_digest(app, "weekly-now")
    small_digest(app, "tiny")
    assert plan_social(app) == POSTS
    with running_smtp_server(rcpt_replies={BOUNCE: "550 5.1.1 No such user"}) as server:
        app.settings.email.mode = "smtp"
        app.settings.email.unsafe_test_relay = True  # aiosmtpd on loopback: no DKIM, http links
        app.settings.smtp.host, app.settings.smtp.port = server.host, server.port
        app.settings.smtp.security = "none"
        reports = dispatch(app, ["email", "x"])
    assert (reports["email"].sent, reports["email"].permanent) == (2 * READERS, 2)
    enqueue_many(app.engine, [{"key": "manual:1", "channel": "email", "recipient": HOSTILE}])
    earlier = utcnow() - timedelta(days=3)
    tiny = sa.select(Digest.id).where(Digest.slug == "tiny").scalar_subquery()  # type: ignore[arg-type]
    with app.engine.begin() as c:  # history: "tiny" went out three days ago
        sent = D.c.sent_at.is_not(None)
        c.execute(sa.update(D).where(D.c.digest_id == tiny, sent).values(sent_at=earlier, updated_at=earlier))
        c.execute(sa.update(D).where(D.c.digest_id == tiny, ~sent).values(updated_at=earlier))
    return "weekly-now"


def table(app: App) -> list[sa.Row]:  # type: ignore[type-arg]
    with app.engine.connect() as c:
        return list(c.execute(sa.select(D, Digest.slug).outerjoin(Digest, Digest.id == D.c.digest_id)))  # type: ignore[arg-type]


def shown(html: str) -> dict[int, list[str]]:
    """The log's rows on the page: delivery id -> cell texts."""
    return {
        int(row_id): [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
        for row_id, body in re.findall(r'<tr data-id="(\d+)">(.*?)</tr>', html, re.S)
    }


def older_link(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', html)
    return found.group(1).replace("&amp;", "&") if found else None


def all_pages(client: TestClient, url: str) -> tuple[list[int], list[str]]:
    """Every row id over the pages reached through the "older" links, and those links."""
    ids: list[int] = []
    links: list[str] = []
    next_url: str | None = url
    while next_url:
        page = client.get(next_url)
        assert page.status_code == 200
        rows = list(shown(page.text))
        assert len(rows) <= 50 and rows == sorted(rows, reverse=True)  # newest first
        ids += rows
        next_url = older_link(page.text)
        if next_url:
            links.append(next_url)
    return ids, links


def bar_titles(html: str) -> Counter[tuple[str, str]]:
    svg = re.search(r"<svg.*?</svg>", html, re.S)
    assert svg, "no chart"
    return Counter(
        {
            (label, series): int(n)
            for label, n, series in re.findall(r"<title>([^<]+): (\d+) (sent|failed)</title>", svg.group())
        }
    )


def expected_bars(rows: list[sa.Row], unit: str) -> Counter[tuple[str, str]]:  # type: ignore[type-arg]
    """Counts per day or hour in the desk's zone (London: GMT in November)."""
    fmt = "%Y-%m-%d" if unit == "day" else "%Y-%m-%d %H:00 %Z"
    counts: Counter[tuple[str, str]] = Counter()
    for row in rows:
        if row.status in ("sent", "failed"):
            at = (row.sent_at or row.updated_at).replace(tzinfo=UTC).astimezone(LONDON)
            counts[(at.strftime(fmt), row.status)] += 1
    return counts


@sqlite_only
def test_the_log_needs_sign_in(client: TestClient) -> None:
    response = client.get("/desk/log?status=failed", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/desk/login?next=%2Fdesk%2Flog%3Fstatus%3Dfailed"


def test_each_filter_includes_its_rows_and_excludes_the_rest_and_pages_keep_them(
    app: App, client: TestClient
) -> None:
    weekly = seed(app)
    rows = table(app)
    signed_in(app, client, "/desk/log")

    def ids(keep: object) -> list[int]:
        return sorted((r.id for r in rows if keep(r)), reverse=True)  # type: ignore[operator]

    # No filter: 55 + 55 + 3 + 1 rows, newest first over three pages.
    everything, _ = all_pages(client, "/desk/log")
    assert everything == ids(lambda r: True) and len(everything) == 2 * (READERS + 1) + POSTS + 1

    # digest: the "tiny" rows only, over two pages whose links keep the filter.
    got, links = all_pages(client, "/desk/log?digest=tiny")
    assert got == ids(lambda r: r.slug == "tiny") and len(got) == READERS + 1
    assert [parse_qs(urlsplit(link).query) for link in links] == [{"digest": ["tiny"], "page": ["2"]}]
    second = client.get(links[0]).text
    assert '<a href="/desk/log?digest=tiny" rel="prev">' in second
    assert '<option value="tiny" selected>' in second

    # channel: the x posts, each naming its article, and nothing else.
    page = client.get("/desk/log", params={"channel": "x"}).text
    assert sorted(shown(page), reverse=True) == ids(lambda r: r.channel == "x") and len(shown(page)) == POSTS
    assert all(cells[3].startswith("post: ") for cells in shown(page).values())

    # status: the two refusals (one per digest), with the server's answer.
    page = client.get("/desk/log", params={"status": "failed"}).text
    assert sorted(shown(page), reverse=True) == ids(lambda r: r.status == "failed") and len(shown(page)) == 2
    assert all("550 5.1.1" in cells[6] for cells in shown(page).values())

    # address: part of the address, in another case; a LIKE wildcard is taken literally.
    page = client.get("/desk/log", params={"address": "bounce.ME"}).text
    assert sorted(shown(page), reverse=True) == ids(lambda r: r.recipient == BOUNCE)
    assert shown(client.get("/desk/log", params={"address": "%"}).text) == {}

    # Filters combine; the older link keeps all of them.
    page = client.get("/desk/log", params={"digest": weekly, "status": "sent", "address": "READER0001"}).text
    assert sorted(shown(page), reverse=True) == ids(
        lambda r: r.slug == weekly and r.status == "sent" and "reader0001" in r.recipient
    )
    got, links = all_pages(client, f"/desk/log?digest={weekly}&status=sent")
    assert got == ids(lambda r: r.slug == weekly and r.status == "sent") and len(got) == READERS
    assert parse_qs(urlsplit(links[0]).query) == {"digest": [weekly], "status": ["sent"], "page": ["2"]}


def test_the_chart_counts_sends_and_failures_per_day_or_per_hour(app: App, client: TestClient) -> None:
    weekly = seed(app)
    rows = table(app)
    signed_in(app, client, "/desk/log")

    # Rows over three days: per day, 30 days, the "tiny" digest three days back.
    page = client.get("/desk/log").text
    assert bar_titles(page) == expected_bars(rows, "day")
    today, three_days_ago = "2026-11-27", "2026-11-24"  # the pinned Friday, and "tiny"'s day
    assert bar_titles(page)[(three_days_ago, "sent")] == READERS
    assert bar_titles(page)[(three_days_ago, "failed")] == 1
    assert bar_titles(page)[(today, "failed")] == 1
    assert "Day (Europe/London)" in page and page.count('<th scope="row">20') == 30  # the table has every day
    assert '<figure class="chart">' in page and "<figcaption>" in page and "<details>" in page

    # One digest's rows span minutes: per hour, and only that digest's rows.
    page = client.get("/desk/log", params={"digest": weekly}).text
    assert bar_titles(page) == expected_bars([r for r in rows if r.slug == weekly], "hour")
    assert sum(n for (_, series), n in bar_titles(page).items() if series == "sent") == READERS
    assert "Hour (Europe/London)" in page and "UTC" not in page

    # The status filter applies to the chart too; a filter with no sends says so instead of a chart.
    page = client.get("/desk/log", params={"status": "failed"}).text
    assert bar_titles(page) == expected_bars([r for r in rows if r.status == "failed"], "day")
    page = client.get("/desk/log", params={"status": "pending"}).text
    assert "<svg" not in page and "Nothing was sent or failed in the last 30 days" in page


@sqlite_only
def test_bad_filter_values_are_named_on_the_page_not_a_server_error(app: App, client: TestClient) -> None:
    enqueue_many(app.engine, [{"key": "manual:1", "channel": "email", "recipient": "a@example.org"}])
    signed_in(app, client, "/desk/log")
    page = client.get("/desk/log", params={"status": "lost", "channel": "email"})
    assert page.status_code == 200 and "There is no delivery status “lost”" in page.text
    assert len(shown(page.text)) == 1  # the rest of the filters still apply
    for bad in ["abc", "0", "-1", "99999999999999999999"]:
        page = client.get("/desk/log", params={"page": bad})
        assert page.status_code == 200 and "is not a page number" in page.text, bad
        assert len(shown(page.text)) == 1
    page = client.get("/desk/log", params={"page": "7"})
    assert page.status_code == 200 and "Page 7 is past the oldest matching delivery" in page.text
    page = client.get("/desk/log", params={"digest": "nope"})
    assert "There is no digest “nope”" in page.text and shown(page.text) == {}
    # A crafted link cannot put a sentence of its own on the desk: echoed values are cut short.
    message = "Your password expired. Sign in again at https://evil.example/desk to keep access"
    page = client.get("/desk/log", params={"channel": message})
    assert f"Nothing was ever queued on the channel “{message[:39]}…”." in page.text


@sqlite_only
def test_addresses_and_errors_are_escaped(app: App, client: TestClient) -> None:
    enqueue_many(app.engine, [{"key": "manual:1", "channel": "email", "recipient": HOSTILE}])
    with app.engine.begin() as c:
        c.execute(sa.update(D).values(status="failed", last_error=f"refused {HOSTILE}"))
    signed_in(app, client, "/desk/log")
    page = client.get("/desk/log", params={"address": "<script>"}).text
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;@evil.example" in page
    assert 'value="&lt;script&gt;"' in page  # the search field too
    assert len(shown(page)) == 1
