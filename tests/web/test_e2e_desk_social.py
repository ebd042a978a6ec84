"""The social queue and its New post form in headless Chromium on a 375-pixel phone (issues 18.8, 21.6).

An editor signs in, pages through a queue of 32 posts (long links among them) without the page scrolling
sideways, writes an announcement for a later time, sends the same form twice at once (one post), and has a
text that cannot fit refused with X's count. Screenshots go to artifacts/e2e/. SQLite; the server's clock
is pinned (the ``clock`` fixture), Chromium keeps its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from playwright.sync_api import Page, expect

from distro.app import App
from distro.models import Delivery, SocialPost
from distro.services.custom_posts import PostRequest, create_post
from distro.services.editors import add_editor
from tests.web.browser import Serve, screenshot

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
EDITOR, PASSWORD = "social@meridian-review.example", "a long desk passphrase"
P = SocialPost.__table__  # type: ignore[attr-defined]
D = Delivery.__table__  # type: ignore[attr-defined]
LONG_LINK = "https://meridian-review.example/" + "averylongslugwithnobreakinit" * 8


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{page.url} is {width} px wide at 375 px"


def sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Email").fill(EDITOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def texts(app: App) -> list[str]:
    with app.engine.connect() as connection:
        return list(connection.execute(sa.select(P.c.text).order_by(P.c.id)).scalars())


def test_the_queue_pages_on_a_phone_and_a_new_post_is_queued_once(
    app: App, serve: Serve, page: Page, clock: time_machine.Traveller
) -> None:
    start = datetime(2026, 11, 27, 13, 0)
    for n in range(32):
        text = f"Story {n}: {LONG_LINK}" if n % 4 == 0 else f"Story {n} https://meridian-review.example/{n}"
        at = (start + timedelta(minutes=15 * n)).strftime("%Y-%m-%d %H:%M")
        create_post(app, PostRequest("facebook" if n % 3 == 0 else "x", text, at=at), actor="cli")
    with app.engine.begin() as connection:  # one tried and refused: its text and error shown as they are
        first = connection.execute(sa.select(sa.func.min(D.c.id))).scalar_one()
        refused = {"status": "failed", "attempts": 1, "last_error": f"403 from X about {LONG_LINK}"}
        connection.execute(sa.update(D).where(D.c.id == first).values(**refused))
    add_editor(app, EDITOR, PASSWORD)
    server = serve(app)
    sign_in(page, server.link("/desk/login?next=%2Fdesk%2Fsocial"))
    expect(page.get_by_role("heading", name="Social queue")).to_be_visible()
    expect(page.locator("article.post")).to_have_count(20)
    expect(page.locator(f"#post-{first} pre")).to_contain_text(LONG_LINK)
    no_sideways_scroll(page)
    screenshot(page, "desk-social-375px")
    page.get_by_label("Platform").select_option("facebook")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("article.post")).to_have_count(11)
    expect(page.locator("#matching")).to_contain_text("11 posts match the filter")
    page.get_by_label("Platform").select_option("")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name="Later →").click()
    expect(page.locator("article.post")).to_have_count(12)
    no_sideways_scroll(page)
    screenshot(page, "desk-social-375px-page-2")

    page.get_by_role("link", name="New post").first.click()
    expect(page.get_by_role("heading", name="New social post")).to_be_visible()
    no_sideways_scroll(page)
    page.get_by_label("Account").select_option("x/main")
    page.get_by_label("Text").fill("The Review turns ten on Monday. Thank you for reading.")
    page.get_by_label("Link").fill("https://meridian-review.example/ten")
    page.get_by_label("Send at").fill("2026-11-30T08:00")
    screenshot(page, "desk-social-new-375px")
    page.get_by_role("button", name="Queue the post").click()
    expect(page.get_by_role("status")).to_have_text(
        "Queued the X post of main: it goes out at 2026-11-30 08:00 GMT."
    )
    assert texts(app)[-1] == (
        "The Review turns ten on Monday. Thank you for reading.\n\nhttps://meridian-review.example/ten"
    )
    no_sideways_scroll(page)


def test_the_same_form_sent_twice_at_once_queues_one_post_and_an_unfit_text_is_refused(
    app: App, serve: Serve, page: Page, clock: time_machine.Traveller
) -> None:
    add_editor(app, EDITOR, PASSWORD)
    server = serve(app)
    sign_in(page, server.link("/desk/login?next=%2Fdesk%2Fsocial%2Fnew"))
    page.get_by_label("Text").fill("Our offices are closed on Monday.")
    statuses = page.evaluate(
        """async () => {
            const form = document.getElementById('new-post');
            const body = () => new URLSearchParams(new FormData(form));
            const send = () => fetch(form.action, {method: 'POST', body: body()});
            const answers = await Promise.all([send(), send()]);
            return answers.map(a => a.status);
        }"""
    )
    assert statuses == [200, 200]  # both followed their redirect back to the queue
    assert texts(app) == ["Our offices are closed on Monday."]

    page.reload()
    page.get_by_label("Text").fill("An announcement far too long for X. " * 8)
    page.get_by_role("button", name="Queue the post").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Not queued: the text is 287 long as x counts it; the limit is 280."
    )
    expect(page.get_by_label("Text")).to_have_value(("An announcement far too long for X. " * 8).strip())
    no_sideways_scroll(page)
    screenshot(page, "desk-social-new-refused-375px")
    assert texts(app) == ["Our offices are closed on Monday."]
