"""Subscribers and the activity record on the desk, in headless Chromium against a live server, as each
role: what each page shows, each action and the activity row it writes, the forget confirmation, a CSV
upload with a bad line reported by its number, the export; a viewer's every POST answers 403. Phone-sized
(375 px): nothing may stick out sideways. Screenshots in artifacts/e2e/; axe-core on each page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from playwright.sync_api import Browser, Page, expect

from distro.app import App
from distro.db import session_scope
from distro.models import Activity, BounceEvent, Signup, Subscriber, SuppressionReason, utcnow
from distro.services.digest_send import send_edition
from distro.services.editors import add_editor
from distro.services.ingest import ingest
from distro.services.privacy import forgotten_tag
from distro.services.subscribers import add_subscriber
from distro.services.suppression import suppress
from tests.web.axe import axe_violations
from tests.web.browser import LiveServer, Serve, horizontal_overflow, new_page, screenshot, unlabelled_inputs

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
PASSWORD = "a long desk passphrase"
ROLES = ("admin", "editor", "viewer")


def editor_of(role: str) -> str:
    return f"{role}@meridian-review.example"


@pytest.fixture
def readers(app: App, clock: time_machine.Traveller) -> dict[str, int]:
    """A list with one reader in every state, an edition sent to them, a bounce and a waiting sign-up."""
    app.settings.x.enabled = app.settings.facebook.enabled = False
    ingest(app)
    for name in ("ana", "bo", "cy", "dee", "eve", "fay"):
        add_subscriber(app, f"{name}@example.org", name.title(), ["Security"] if name == "bo" else None)
    send_edition(app, app.settings.digest)
    with session_scope(app.engine) as session:
        ids = {s.email.split("@")[0]: s.id or 0 for s in session.exec(sa.select(Subscriber)).scalars()}
        bo = session.get(Subscriber, ids["bo"])
        cy = session.get(Subscriber, ids["cy"])
        assert bo is not None and cy is not None
        bo.paused_until = utcnow() + timedelta(weeks=2)
        cy.status, cy.unsubscribed_at = "unsubscribed", utcnow()  # type: ignore[assignment]
        session.add(BounceEvent(email="eve@example.org", kind="hard", status="5.1.1", source="dsn",
                                diagnostic="550 5.1.1 no such user", action="suppressed",
                                subscriber_id=ids["eve"]))  # fmt: skip
        session.add(Signup(email="gus@example.org", name="Gus", expires_at=utcnow() + timedelta(days=2)))
    suppress(app.engine, "dee@example.org", SuppressionReason.MANUAL)
    suppress(app.engine, "eve@example.org", SuppressionReason.HARD_BOUNCE)
    suppress(app.engine, "fay@example.org", SuppressionReason.COMPLAINT)
    for role in ROLES:
        add_editor(app, editor_of(role), PASSWORD, role=role)
    return ids


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A 375 px page that lets axe's script in (the desk allows no script)."""
    opened = new_page(browser, bypass_csp=True)
    yield opened
    opened.context.close()


def sign_in(page: Page, server: LiveServer, role: str, target: str) -> None:
    page.goto(server.link(f"/desk/login?next={target}"))
    page.get_by_label("Email").fill(editor_of(role))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(server.link(target))


def check_page(page: Page, name: str) -> None:
    """Nothing sticks out at 375 px, every control is labelled, axe finds nothing; a screenshot."""
    screenshot(page, name)
    assert horizontal_overflow(page) == 0, f"{name} overflows by {horizontal_overflow(page)} px"
    assert unlabelled_inputs(page) == []
    assert axe_violations(page) == [], name


def csrf(page: Page) -> str:
    value = page.locator('form[action="/desk/logout"] input[name="csrf_token"]').get_attribute("value")
    assert value
    return value


def activity(app: App) -> list[tuple[str, str, str, str]]:
    with app.engine.connect() as connection:
        query = sa.select(Activity.actor, Activity.action, Activity.subject, Activity.detail)
        query = query.where(Activity.action.not_in(["signin", "editor.add"]))  # type: ignore[attr-defined]
        return [tuple(r) for r in connection.execute(query.order_by(sa.column("id")))]  # type: ignore[misc]


def shown(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("tbody tr[data-id] td.addr").all_inner_texts()]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_searches_filters_and_reads_a_reader(
    app: App, readers: dict[str, int], serve: Serve, phone: Page, role: str
) -> None:
    server = serve(app)
    sign_in(phone, server, role, "/desk/subscribers")
    assert shown(phone) == [f"{n}@example.org" for n in ("fay", "eve", "dee", "cy", "bo", "ana")]
    check_page(phone, f"desk-subscribers-{role}-375px")
    assert (phone.locator('form[action="/desk/subscribers/import"]').count() == 1) == (role != "viewer")
    expected = {
        "active": ["ana"], "paused": ["bo"], "unsubscribed": ["cy"], "suppressed": ["dee"],
        "bounced": ["eve"], "complained": ["fay"],
    }  # fmt: skip
    for status, names in expected.items():
        phone.goto(server.link(f"/desk/subscribers?status={status}"))
        assert shown(phone) == [f"{n}@example.org" for n in names], status
    phone.goto(server.link("/desk/subscribers?status=unconfirmed"))
    expect(phone.locator("tbody")).to_contain_text("gus@example.org")
    phone.goto(server.link("/desk/subscribers"))
    phone.get_by_label("Address or name contains").fill("BO")
    phone.get_by_role("button", name="Search").click()
    assert shown(phone) == ["bo@example.org"]
    phone.goto(server.link("/desk/subscribers?section=Economy&status=active"))
    assert shown(phone) == ["ana@example.org"]  # bo chose Security only (and is paused)
    phone.goto(server.link("/desk/subscribers?status=nonsense"))
    expect(phone.get_by_role("alert")).to_contain_text("status 'nonsense' is not one of")

    phone.goto(server.link(f"/desk/subscribers/{readers['eve']}"))
    expect(phone.locator("#status")).to_have_text("bounced")
    expect(phone.locator("main")).to_contain_text("550 5.1.1 no such user")
    expect(phone.locator("tr[data-delivery]")).to_have_count(1)
    expect(phone.locator("main")).to_contain_text("per_reader")  # clicks are not kept per reader here
    check_page(phone, f"desk-subscriber-{role}-375px")
    forms = phone.locator("main form[method=post]")
    if role == "viewer":
        assert forms.count() == 0
        token = csrf(phone)
        for action in ("pause", "choices", "unsubscribe", "suppress", "forget"):
            answer = phone.request.post(
                server.link(f"/desk/subscribers/{readers['ana']}/{action}"),
                form={"csrf_token": token, "weeks": "1", "confirm": "ana@example.org"},
            )
            assert answer.status == 403, action
        upload = phone.request.post(
            server.link("/desk/subscribers/import"),
            multipart={"csrf_token": token, "file": {"name": "x.csv", "mimeType": "text/csv",
                                                     "buffer": b"email\nzed@example.org\n"}},
        )  # fmt: skip
        assert upload.status == 403
        assert phone.request.get(server.link("/desk/subscribers/export.csv")).status == 403
        assert activity(app) == []
    else:
        assert forms.count() == 5


def test_an_editor_acts_on_a_reader_and_each_action_is_recorded(
    app: App, readers: dict[str, int], serve: Serve, phone: Page
) -> None:
    server = serve(app)
    ana = readers["ana"]
    sign_in(phone, server, "editor", f"/desk/subscribers/{ana}")
    me = "editor:editor@meridian-review.example"

    phone.get_by_label("Pause for weeks").fill("3")
    phone.get_by_role("button", name="Pause", exact=True).click()
    expect(phone.get_by_role("status")).to_have_text("Paused for 3 weeks.")
    expect(phone.locator("#status")).to_have_text("paused")
    phone.get_by_label("Security").check()
    phone.get_by_role("button", name="Save choices").click()
    expect(phone.get_by_role("status")).to_have_text("Saved their sections and newsletters.")
    phone.get_by_role("button", name="Put on the suppression list").click()
    expect(phone.locator("#status")).to_have_text("suppressed")
    phone.get_by_role("button", name="Take off the suppression list").click()
    expect(phone.locator("#status")).to_have_text("paused")
    phone.get_by_role("button", name="Unsubscribe from everything").click()
    expect(phone.locator("#status")).to_have_text("unsubscribed")

    confirm = phone.get_by_label("type their address to confirm")
    confirm.fill("bo@example.org")  # another reader's address: refused, nothing forgotten
    phone.get_by_role("button", name="Forget", exact=True).click()
    expect(phone.get_by_role("alert")).to_contain_text("type the reader's address exactly to confirm")
    screenshot(phone, "desk-subscriber-forget-refused-375px")
    phone.get_by_label("type their address to confirm").fill("ANA@example.org")
    phone.get_by_role("button", name="Forget", exact=True).click()
    expect(phone).to_have_url(server.link("/desk/subscribers"))
    expect(phone.get_by_role("status")).to_contain_text("Forgotten")
    assert "ana@example.org" not in shown(phone)

    tag = forgotten_tag(app, "ana@example.org")
    assert activity(app) == [
        (me, "subscriber.update", f"subscriber {tag}", "paused for 3 weeks"),
        (me, "subscriber.update", f"subscriber {tag}", "sections: Security; newsletters: weekly"),
        (me, "suppression.add", f"suppression {tag}", "manual: by an editor on the desk"),
        (me, "suppression.remove", f"suppression {tag}", ""),
        (me, "subscriber.unsubscribe", f"subscriber {tag}", ""),
        (me, "subscriber.forget", f"subscriber {tag}", "forgotten"),
    ]
    assert "ana@" not in str(activity(app))  # forgetting rewrote the earlier rows too

    phone.goto(server.link("/desk/activity"))
    expect(phone.locator("tbody tr[data-action]").first).to_contain_text("subscriber.forget")
    check_page(phone, "desk-activity-after-actions-375px")


def test_csv_upload_reports_bad_lines_by_number_and_export_downloads(
    app: App, readers: dict[str, int], serve: Serve, phone: Page, tmp_path: Path
) -> None:
    server = serve(app)
    sign_in(phone, server, "admin", "/desk/subscribers")
    listing = tmp_path / "newsroom.csv"
    listing.write_text(
        "email,name,sections\nhal@example.org,Hal,Security\nnot-an-address,Nobody,\nana@example.org,Ana,\n",
        encoding="utf-8",
    )
    phone.get_by_label("Import a CSV").set_input_files(str(listing))
    phone.get_by_role("button", name="Import", exact=True).click()
    expect(phone.get_by_role("status")).to_have_text(
        "Imported newsroom.csv: 1 added, 1 already known, 1 lines rejected (below)."
    )
    report = phone.locator("table.report tbody tr")
    expect(report).to_have_count(1)
    expect(report.first).to_contain_text("line 3")
    check_page(phone, "desk-subscribers-import-report-375px")
    assert shown(phone)[0] == "hal@example.org"

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"name\nX\n")
    phone.get_by_label("Import a CSV").set_input_files(str(empty))
    phone.get_by_role("button", name="Import", exact=True).click()
    expect(phone.get_by_role("alert")).to_contain_text("empty.csv: the first line must be a header")
    assert "distro-upload" not in phone.locator("main").inner_text()  # never the temporary copy's path

    with phone.expect_download() as download:
        phone.get_by_role("link", name="Export every subscriber (CSV)").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert exported[0] == "email,name,sections,newsletters,status,created_at,unsubscribed_at"
    assert len(exported) == 1 + 7 and any(
        line.startswith("eve@example.org,Eve,,,bounced") for line in exported
    )
    admin = "editor:admin@meridian-review.example"
    assert activity(app) == [
        (admin, "subscriber.import", "file newsroom.csv", "1 added, 1 already known, 1 lines rejected"),
        (admin, "subscriber.export", "every subscriber", "7 rows"),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_the_activity_page_lists_filters_and_pages_for_every_role_and_cannot_be_changed(
    app: App, readers: dict[str, int], serve: Serve, phone: Page, role: str
) -> None:
    from distro.services.activity import record_activity

    with session_scope(app.engine) as session:
        for n in range(60):
            record_activity(session, actor="cli:ana", action="post.hold", subject=f"post {n}")
        record_activity(session, actor="api:deploy", action="edition.send", subject="edition weekly-2026-W48")
    server = serve(app)
    sign_in(phone, server, role, "/desk/activity")
    rows = phone.locator("tbody tr[data-action]")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text(f"editor:{editor_of(role)}")  # this sign-in, newest first
    check_page(phone, f"desk-activity-{role}-375px")
    phone.get_by_role("link", name="Older →").click()
    expect(rows).to_have_count(15)  # 60 holds, 1 send, 3 editors added, this sign-in: 65 in all
    phone.goto(server.link("/desk/activity"))
    phone.get_by_label("What").select_option("edition")
    phone.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("api:deploy")
    phone.get_by_label("Who").select_option("cli:ana")
    phone.get_by_label("What").select_option("")
    phone.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(50)
    assert phone.locator("main form[method=post]").count() == 0
    for verb in ("post", "put", "delete"):
        answer = getattr(phone.request, verb)(server.link("/desk/activity"), form={"csrf_token": csrf(phone)})
        assert answer.status == 405, verb  # no route changes the record
