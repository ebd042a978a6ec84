"""Subscriber pages through FastAPI's TestClient on SQLite and PostgreSQL; emails through the real outbox,
dispatch and file sink (the embedded default channel), read back as RFC 5322 files."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from email.message import Message
from email.policy import default
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from distro.app import App
from distro.models import Delivery, Subscriber, SubscriberStatus, Suppression
from distro.services.delivery import dispatch
from distro.services.personal import preferences_url, unsubscribe_url
from distro.services.privacy import export_subscriber, forget_subscriber, forgotten_tag
from distro.services.subscribers import active_subscribers, add_subscriber, export_csv, import_csv
from distro.services.suppression import suppress
from distro.tokens import make_token
from distro.web.app import create_web_app


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app)) as test_client:
        yield test_client


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def subscriber(app: App, address: str) -> Subscriber | None:
    with app.engine.connect() as connection:
        row = connection.execute(sa.select(Subscriber).where(Subscriber.email == address)).first()
    return Subscriber(**row._mapping) if row else None


def sent_mail(app: App) -> list[Message]:
    dispatch(app, ["email"])
    files = sorted(Path(app.settings.email_dir).glob("msg_*.eml"))
    return [email.message_from_bytes(f.read_bytes(), policy=default) for f in files]


def text_of(message: Message) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_one_click_unsubscribe_is_immediate_and_needs_nothing_else(app: App, client: TestClient) -> None:
    add_subscriber(app, "ana@example.org", "Ana")
    sid = subscriber(app, "ana@example.org").id  # type: ignore[union-attr]
    url = path_of(unsubscribe_url(app, sid))  # type: ignore[arg-type]
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and len(response.content) < 64
    assert subscriber(app, "ana@example.org").status == SubscriberStatus.UNSUBSCRIBED  # type: ignore[union-attr]
    assert list(active_subscribers(app)) == []
    again = client.post(url, data={"List-Unsubscribe": "One-Click"})  # a repeated click changes nothing
    assert again.status_code == 200


def test_unsubscribe_page_and_resubscribe_need_the_form_token(app: App, client: TestClient) -> None:
    add_subscriber(app, "ben@example.org")
    sid = subscriber(app, "ben@example.org").id or 0  # type: ignore[union-attr]
    url = path_of(unsubscribe_url(app, sid))
    page = client.get(url)
    assert page.status_code == 200 and "Unsubscribe</button>" in page.text
    assert subscriber(app, "ben@example.org").status == "active"  # type: ignore[union-attr]  # GET changes nothing
    refused = client.post(url, data={"action": "unsubscribe"})
    assert refused.status_code == 403
    assert subscriber(app, "ben@example.org").status == "active"  # type: ignore[union-attr]
    done = client.post(url, data={"action": "unsubscribe", "csrf": csrf_of(page.text)})
    assert "Subscribe again" in done.text
    assert subscriber(app, "ben@example.org").status == "unsubscribed"  # type: ignore[union-attr]
    back = client.post(url, data={"action": "resubscribe", "csrf": csrf_of(done.text)})
    assert back.status_code == 200
    assert subscriber(app, "ben@example.org").status == "active"  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", ["forged", "altered", "wrong-scope", "other-form"])
def test_bad_tokens_are_refused_and_change_nothing(app: App, client: TestClient, kind: str) -> None:
    add_subscriber(app, "cy@example.org")
    sid = subscriber(app, "cy@example.org").id or 0  # type: ignore[union-attr]
    good = unsubscribe_url(app, sid).rsplit("/", 1)[1]
    token = {
        "forged": make_token(b"not-our-key", "unsubscribe", sid),
        "altered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "wrong-scope": make_token(app.signing_key, "preferences", sid),
        "other-form": make_token(app.signing_key, "form-unsubscribe", sid),
    }[kind]
    assert client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert client.get(f"/unsubscribe/{token}").status_code == 400
    csrf = make_token(app.signing_key, "form-unsubscribe", sid)  # a real form token, not the preferences one
    answer = client.post(path_of(preferences_url(app, sid)), data={"csrf": csrf, "pause_weeks": "3"})
    assert answer.status_code == 403
    row = subscriber(app, "cy@example.org")
    assert row is not None and row.status == "active" and row.paused_until is None


def test_preferences_sections_and_pause(app: App, client: TestClient) -> None:
    add_subscriber(app, "dee@example.org")
    sid = subscriber(app, "dee@example.org").id or 0  # type: ignore[union-attr]
    url = path_of(preferences_url(app, sid))
    page = client.get(url)
    assert page.status_code == 200 and 'value="Security" checked' in page.text
    form = {
        "csrf": csrf_of(page.text),
        "action": "save",
        "sections": ["Security", "Economy"],
        "pause_weeks": "2",
    }
    saved = client.post(url, data=form)
    assert saved.status_code == 200 and "Saved." in saved.text
    row = subscriber(app, "dee@example.org")
    assert row is not None and row.sections == ["Security", "Economy"] and row.paused_until is not None
    assert list(active_subscribers(app)) == []  # paused: the digest is not queued for them
    paused_until = row.paused_until
    kept = client.post(url, data={**form, "sections": ["Economy"], "pause_weeks": ""})
    assert kept.status_code == 200 and "keep the pause until" in kept.text  # an empty field keeps the pause
    row = subscriber(app, "dee@example.org")
    assert row is not None and row.sections == ["Economy"] and row.paused_until == paused_until
    bad = client.post(url, data={**form, "pause_weeks": "99"})
    assert bad.status_code == 422 and "between 0 and 12" in bad.text
    client.post(url, data={**form, "pause_weeks": "0"})
    assert [s.email for s in active_subscribers(app)] == ["dee@example.org"]


def test_signup_double_opt_in_then_welcome(app: App, client: TestClient) -> None:
    form = {"email": "eve@Example.ORG", "name": "Eve", "sections": ["Security"], "website": ""}
    answer = client.post("/subscribe", data=form)
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    assert subscriber(app, "eve@example.org") is None  # nothing before the click
    [confirm] = sent_mail(app)
    assert confirm["To"] == "eve@example.org" and "List-Unsubscribe" not in confirm
    link = re.search(r"https?://\S+/confirm/\S+", text_of(confirm))
    assert link
    assert client.get(path_of(link.group(0))).status_code == 200
    row = subscriber(app, "eve@example.org")
    assert row is not None and row.status == "active" and row.sections == ["Security"]
    assert client.get(path_of(link.group(0))).status_code == 410  # used once
    mails = sent_mail(app)
    welcome = next(m for m in mails if m["Subject"].startswith("Welcome"))
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe/" in welcome["List-Unsubscribe"]


def test_signup_honeypot_rate_limit_and_bad_address(app: App, client: TestClient) -> None:
    assert client.post("/subscribe", data={"email": "bot@example.org", "website": "x"}).status_code == 200
    bad = client.post("/subscribe", data={"email": "not an address"})
    assert bad.status_code == 422 and "not a valid email address" in bad.text
    codes = [client.post("/subscribe", data={"email": "fay@example.org"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]  # signup_per_address_per_hour = 3
    with app.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(Delivery)).scalar() == 3


def test_change_address_applies_when_approved_from_the_old_and_confirmed_by_the_new(
    app: App, client: TestClient
) -> None:
    add_subscriber(app, "gil@example.org")
    sid = subscriber(app, "gil@example.org").id or 0  # type: ignore[union-attr]
    url = path_of(preferences_url(app, sid))
    csrf = csrf_of(client.get(url).text)
    answer = client.post(url, data={"csrf": csrf, "action": "change_email", "email": "gil@new.example"})
    assert answer.status_code == 200 and "We emailed gil@example.org a link to approve" in answer.text
    [approval] = sent_mail(app)  # to the current address only: nothing goes to the new one yet
    assert approval["To"] == "gil@example.org" and "gil@new.example" in text_of(approval)
    approve = path_of(re.findall(r"https?://\S+/change-address/\S+", text_of(approval))[0])
    page = client.get(approve)  # a GET (a mail scanner's) approves nothing
    assert page.status_code == 200 and "Approve the move" in page.text
    assert [m["To"] for m in sent_mail(app)] == ["gil@example.org"]
    done = client.post(approve, data={"csrf": csrf_of(page.text), "action": "approve"})
    assert done.status_code == 200 and "We emailed gil@new.example" in done.text
    assert subscriber(app, "gil@example.org") is not None  # still here until the new address confirms
    confirm = next(m for m in sent_mail(app) if m["To"] == "gil@new.example")
    link = re.search(r"https?://\S+/confirm/\S+", text_of(confirm))
    assert link and client.get(path_of(link.group(0))).status_code == 200
    assert subscriber(app, "gil@example.org") is None
    assert subscriber(app, "gil@new.example").id == sid  # type: ignore[union-attr]


def test_export_and_forget_keep_the_log_honest(app: App) -> None:
    add_subscriber(app, "hal@example.org", "Hal")
    from distro.services.signup import _queue_welcome

    _queue_welcome(app, subscriber(app, "hal@example.org"))  # type: ignore[arg-type]
    sent_mail(app)
    data = export_subscriber(app, "hal@example.org")
    assert data["subscriber"]["name"] == "Hal" and len(data["deliveries"]) == 1
    assert data["deliveries"][0]["attempts"][0]["outcome"] == "sent"
    counts = forget_subscriber(app, "hal@example.org")
    assert counts["subscriber"] == 1 and counts["deliveries_anonymised"] == 1
    with app.engine.connect() as connection:
        rows = connection.execute(sa.select(Delivery.recipient, Delivery.status)).all()
        listed = connection.execute(sa.select(Suppression.email)).all()
    assert rows == [(forgotten_tag(app, "hal@example.org"), "sent")]
    assert listed == []  # not asked to be left alone: not kept on the list in clear
    assert export_subscriber(app, "hal@example.org")["deliveries"] == []


def test_import_validates_and_never_resubscribes(app: App, tmp_path: Path) -> None:
    add_subscriber(app, "ivy@example.org")
    with app.engine.begin() as connection:
        connection.execute(sa.update(Subscriber).values(status="unsubscribed"))
    suppress(app.engine, "jo@example.org", "complaint")
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "email,name\nivy@example.org,Ivy\njo@example.org,Jo\nbad@@x,Bad\nkim@example.org,Kim\n"
    )
    report = import_csv(app, csv_file)
    assert report.added == 1 and report.existing == 1
    assert [line for line, _ in report.rejected] == [3, 4]
    assert "suppression list" in report.rejected[0][1] and "not a valid" in report.rejected[1][1]
    assert subscriber(app, "ivy@example.org").status == "unsubscribed"  # type: ignore[union-attr]
    assert subscriber(app, "jo@example.org") is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_csv_export_reads_back_into_a_new_list_without_resubscribing(app: App, tmp_path: Path) -> None:
    add_subscriber(app, "lee@example.org", "Lee, Jr.", ["Security", "Economy"])
    add_subscriber(app, "mo@example.org", '=HYPERLINK("http://evil")')
    with app.engine.begin() as connection:
        connection.execute(
            sa.update(Subscriber).where(Subscriber.email == "mo@example.org").values(status="unsubscribed")
        )
    exported = tmp_path / "export.csv"
    with exported.open("w", encoding="utf-8", newline="") as handle:
        assert export_csv(app, handle) == 2
    text = exported.read_text()
    assert text.splitlines()[0] == "email,name,sections,newsletters,status,created_at,unsubscribed_at"
    assert '"Lee, Jr.",Security;Economy,,active' in text
    assert "'=HYPERLINK" in text  # a spreadsheet shows it, never runs it
    with app.engine.begin() as connection:
        connection.execute(sa.delete(Subscriber))
    report = import_csv(app, exported)
    assert (report.added, report.rejected) == (2, [])
    lee, mo = subscriber(app, "lee@example.org"), subscriber(app, "mo@example.org")
    assert lee is not None and lee.status == "active" and lee.sections == ["Security", "Economy"]
    assert mo is not None and mo.status == "unsubscribed"  # moving a list never re-subscribes anyone
    assert [s.email for s in active_subscribers(app)] == ["lee@example.org"]
