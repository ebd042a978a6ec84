"""Attacks on the subscriber links and forms that tests/web/test_subscribers.py does not already try.

Tokens signed with another key, made for another page, or cut short; a confirmation link used after its
sign-up expired or replayed after it was used; a preferences form posted without its per-form token. Each
request is refused and the database is exactly as it was (every subscriber, sign-up, message and delivery
row compared). Only the replay test depends on the database (SQLite gives a deleted row's id to the next
row), so only it runs on PostgreSQL as well.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient

from distro.app import App
from distro.models import Delivery, OneOffMessage, Signup, Subscriber, utcnow
from distro.services.personal import preferences_url, unsubscribe_url
from distro.services.subscribers import add_subscriber
from distro.tokens import make_token
from distro.web.app import create_web_app
from tests.web.test_subscribers import path_of, sent_mail, subscriber, text_of

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
TABLES: list[sa.Table] = [t.__table__ for t in (Subscriber, Signup, OneOffMessage, Delivery)]  # type: ignore[union-attr]
OTHER_KEY = b"a key that is not the publication's"


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app)) as test_client:
        yield test_client


def snapshot(app: App, tables: list[sa.Table] = TABLES) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a subscriber page may write, in primary-key order."""
    with app.engine.connect() as connection:
        return {
            t.name: [tuple(r) for r in connection.execute(sa.select(t).order_by(*t.primary_key.columns))]
            for t in tables
        }


def resigned(token: str, key: bytes) -> str:
    """The same scope and subject as ``token``, signed with ``key``."""
    body = token.split(".", 1)[0]
    scope, _, subject = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode().rpartition(":")
    return make_token(key, scope, int(subject))


def sign_up(app: App, client: TestClient, address: str) -> str:
    """Sign ``address`` up through the form; return the path of the link in the confirmation it gets."""
    assert client.post("/subscribe", data={"email": address}).status_code == 200
    mails = [m for m in sent_mail(app) if m["To"] == address and m["Subject"].startswith("Confirm")]
    assert len(mails) == 1
    link = next(w for w in text_of(mails[0]).split() if "/confirm/" in w)
    return path_of(link)


def token_of(path: str) -> str:
    return path.rsplit("/", 1)[1]


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("page", "kind"),
    [
        ("preferences", "another-key"),
        ("preferences", "unsubscribe-token"),
        ("preferences", "tag-cut-short"),
        ("preferences", "cut-in-half"),
        ("unsubscribe", "tag-cut-short"),
        ("unsubscribe", "cut-in-half"),
        ("confirm", "another-key"),
        ("confirm", "unsubscribe-token"),
        ("confirm", "preferences-token"),
        ("confirm", "tag-cut-short"),
        ("confirm", "cut-in-half"),
    ],
)
def test_a_link_token_works_only_whole_signed_and_on_its_own_page(
    app: App, client: TestClient, page: str, kind: str
) -> None:
    add_subscriber(app, "ana@example.org")
    sid = subscriber(app, "ana@example.org").id or 0  # type: ignore[union-attr]
    pending = sign_up(app, client, "bo@example.org")  # sign-up 1, like subscriber 1: ids alone would match
    good = {
        "preferences": token_of(preferences_url(app, sid)),
        "unsubscribe": token_of(unsubscribe_url(app, sid)),
        "confirm": token_of(pending),
    }
    token = {
        "another-key": resigned(good[page], OTHER_KEY),
        "unsubscribe-token": good["unsubscribe"],
        "preferences-token": good["preferences"],
        "tag-cut-short": good[page][:-4],
        "cut-in-half": good[page][: len(good[page]) // 2],
    }[kind]
    before = snapshot(app)
    form = {
        "csrf": make_token(app.signing_key, f"form-{page}", sid)
    }  # a real form token: only the link is bad
    answers = [client.get(f"/{page}/{token}")]
    if page == "preferences":
        answers.append(
            client.post(f"/{page}/{token}", data={**form, "sections": "Economy", "pause_weeks": "3"})
        )
        answers.append(
            client.post(f"/{page}/{token}", data={**form, "action": "change_email", "email": "x@y.z"})
        )
    if page == "unsubscribe":
        answers.append(client.post(f"/{page}/{token}", data={"List-Unsubscribe": "One-Click"}))
        answers.append(client.post(f"/{page}/{token}", data={**form, "action": "unsubscribe"}))
    assert [a.status_code for a in answers] == [400] * len(answers)
    assert all("This link is not valid" in a.text for a in answers)
    assert snapshot(app) == before
    assert client.get(pending).status_code == 200  # the real link still works: the refusals were the token's


@SQLITE_ONLY
def test_a_confirm_link_after_its_signup_expired_subscribes_nobody(
    app: App, client: TestClient, clock: time_machine.Traveller
) -> None:
    # Both sign-ups at the pinned instant, so "a minute before expiry" is exact however slow the machine.
    in_time, too_late = sign_up(app, client, "cy@example.org"), sign_up(app, client, "di@example.org")
    expiry = timedelta(hours=app.settings.web.confirm_expiry_hours)
    with time_machine.travel(utcnow() + expiry - timedelta(minutes=1), tick=False):
        assert client.get(in_time).status_code == 200  # the boundary: a minute earlier it works
    assert subscriber(app, "cy@example.org") is not None
    kept = [t for t in TABLES if t.name != "signup"]  # deleting an expired sign-up would be fine
    before = snapshot(app, kept)
    with time_machine.travel(utcnow() + expiry + timedelta(minutes=1), tick=False):
        answer = client.get(too_late)
    assert answer.status_code == 410 and "expired" in answer.text
    assert subscriber(app, "di@example.org") is None
    assert snapshot(app, kept) == before


def test_a_used_confirm_link_never_confirms_again_not_even_a_later_signup(
    app: App, client: TestClient
) -> None:
    """Mallory confirms her own sign-up, unsubscribes, then someone signs Vic up. On SQLite Vic's sign-up
    gets the id of Mallory's used one, so a link that named only the id would subscribe Vic without Vic's
    consent (and re-subscribe nobody else). Replayed, her link must change nothing."""
    used = sign_up(app, client, "mallory@example.org")
    assert client.get(used).status_code == 200
    mallory = subscriber(app, "mallory@example.org")
    assert mallory is not None and mallory.status == "active"
    one_click = {"List-Unsubscribe": "One-Click"}
    assert client.post(path_of(unsubscribe_url(app, mallory.id or 0)), data=one_click).status_code == 200
    vics_link = sign_up(app, client, "vic@example.org")
    before = snapshot(app)
    for _ in range(2):
        answer = client.get(used)
        assert answer.status_code == 410 and "already used" in answer.text
    assert snapshot(app) == before
    assert subscriber(app, "vic@example.org") is None
    assert subscriber(app, "mallory@example.org").status == "unsubscribed"  # type: ignore[union-attr]
    assert client.get(vics_link).status_code == 200  # Vic's own click does subscribe Vic


@SQLITE_ONLY
@pytest.mark.parametrize("csrf", ["missing", "empty", "another-subscriber's"])
def test_a_preferences_form_without_its_own_form_token_changes_nothing(
    app: App, client: TestClient, csrf: str
) -> None:
    add_subscriber(app, "eli@example.org")
    add_subscriber(app, "fay@example.org")
    sid = subscriber(app, "eli@example.org").id or 0  # type: ignore[union-attr]
    other = subscriber(app, "fay@example.org").id or 0  # type: ignore[union-attr]
    url = path_of(preferences_url(app, sid))
    assert client.get(url).status_code == 200
    token: dict[str, str] = {
        "missing": {},
        "empty": {"csrf": ""},
        "another-subscriber's": {"csrf": make_token(app.signing_key, "form-preferences", other)},
    }[csrf]
    before = snapshot(app)
    forms: list[dict[str, Any]] = [
        {"action": "save", "sections": ["Economy"], "pause_weeks": "4"},
        {"action": "change_email", "email": "eli@elsewhere.example"},
    ]
    for form in forms:
        answer = client.post(url, data={**form, **token})
        assert answer.status_code == 403 and "This form has expired" in answer.text
    assert snapshot(app) == before
