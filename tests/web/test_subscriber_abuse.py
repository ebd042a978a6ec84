"""The subscriber pages turned against readers and the sender's reputation, and what stops each attack.

Mail-bombing through "change address" and sign-up (limits per subscription, per normalised address and
per IP, counted in the database so two web apps on one database share them); enumeration (a known address
and an unknown one get the same answer and cause the same SQL, statement for statement, which is what makes
their timing alike); takeover from a forwarded preferences link (the current address must approve).
Through TestClient on SQLite and PostgreSQL; emails through the real outbox and file sink.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import event

from distro.app import App, build_app
from distro.models import Delivery, OneOffMessage, Signup
from distro.services.editors import add_editor
from distro.services.personal import preferences_url
from distro.services.subscribers import add_subscriber
from distro.services.suppression import suppress
from distro.web.app import create_web_app
from tests.web.desk import EDITOR, login
from tests.web.test_subscribers import csrf_of, path_of, sent_mail, subscriber, text_of

VICTIM = "vic@example.org"
ATTACKER = "mallory@evil.example"


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app)) as test_client:
        yield test_client


@pytest.fixture
def second(app: App) -> Iterator[TestClient]:
    """Another web process: its own App, engine and settings on the same database."""
    other = build_app(app.settings.model_copy(deep=True))
    with TestClient(create_web_app(other)) as test_client:
        yield test_client
    other.engine.dispose()


def counts(app: App) -> tuple[int, int, int]:
    """(sign-ups, stored messages, deliveries): the rows a subscriber form writes."""
    with app.engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (Signup, OneOffMessage, Delivery)
        )


def recipients(app: App) -> list[str]:
    with app.engine.connect() as connection:
        table = Delivery.__table__  # type: ignore[attr-defined]
        return list(connection.execute(sa.select(table.c.recipient).order_by(table.c.id)).scalars())


@contextmanager
def statements(app: App) -> Iterator[list[str]]:
    """The SQL the block sends, parameters aside."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(re.sub(r"\s+", " ", statement))

    event.listen(app.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(app.engine, "before_cursor_execute", record)


def preferences(app: App, client: TestClient, address: str) -> tuple[str, str]:
    """(path, form token) of ``address``'s preferences page, as a forwarded digest's link gives them."""
    sid = subscriber(app, address).id or 0  # type: ignore[union-attr]
    url = path_of(preferences_url(app, sid))
    return url, csrf_of(client.get(url).text)


def ask_move(client: TestClient, url: str, csrf: str, target: str) -> Any:
    return client.post(url, data={"csrf": csrf, "action": "change_email", "email": target})


def link(message: Any, kind: str) -> str:
    [found] = re.findall(rf"https?://\S+/{kind}/\S+", text_of(message))
    return path_of(found)


# --- change address ------------------------------------------------------------------------------------


def test_change_address_cannot_bomb_a_chosen_address(app: App, client: TestClient) -> None:
    """25 requests from one preferences link: three approval requests, all to the subscriber's own
    address; the chosen address gets nothing (before: 25 confirmations to it)."""
    add_subscriber(app, VICTIM)
    url, csrf = preferences(app, client, VICTIM)
    codes = [ask_move(client, url, csrf, "target@example.net").status_code for _ in range(25)]
    assert codes == [200] * 3 + [429] * 22  # change_email_per_subscriber_per_day = 3
    assert recipients(app) == [VICTIM] * 3


def test_change_address_is_limited_per_new_address_across_subscriptions(app: App, client: TestClient) -> None:
    for n in range(5):
        add_subscriber(app, f"reader{n}@example.org")
    answers = [
        ask_move(
            client, *preferences(app, client, f"reader{n}@example.org"), "target@ｅxample.net"
        ).status_code
        for n in range(4)
    ]
    assert answers == [200, 200, 200, 429]  # change_email_per_address_per_day = 3, however it is typed
    other = ask_move(client, *preferences(app, client, "reader4@example.org"), "other@example.net")
    assert other.status_code == 200


def test_change_address_answers_and_works_the_same_whether_the_target_is_subscribed(
    app: App, client: TestClient
) -> None:
    """The request does not look the new address up at all; the approval sends one message either way
    (a confirmation, or a note to the subscriber who already has that address), with the same SQL."""
    add_subscriber(app, VICTIM)
    add_subscriber(app, "taken@example.net")
    url, csrf = preferences(app, client, VICTIM)
    pages, sql, approvals = {}, {}, {}
    for target in ("taken@example.net", "free@example.net"):
        before = counts(app)
        with statements(app) as seen:
            answer = ask_move(client, url, csrf, target)
        pages[target] = (answer.status_code, answer.text.replace(target, "TARGET"))
        sql[target] = seen
        assert counts(app) == tuple(n + 1 for n in before)
        approvals[target] = link(sent_mail(app)[-1], "change-address")
    assert pages["taken@example.net"] == pages["free@example.net"]
    assert pages["free@example.net"][0] == 200
    assert sql["taken@example.net"] == sql["free@example.net"]

    answers = {}
    for target, approve in approvals.items():
        form = {"csrf": csrf_of(client.get(approve).text), "action": "approve"}
        before = counts(app)
        with statements(app) as seen:
            answer = client.post(approve, data=form)
        page = re.sub(r'name="csrf" value="[^"]+"', "", answer.text)  # a token per change
        answers[target] = (answer.status_code, page.replace(target, "TARGET"))
        sql[target] = seen
        assert counts(app) == (before[0], before[1] + 1, before[2] + 1)
    assert answers["taken@example.net"] == answers["free@example.net"]
    assert sql["taken@example.net"] == sql["free@example.net"]
    mails = {m["To"]: m for m in sent_mail(app) if m["To"] != VICTIM}
    assert "/confirm/" in text_of(mails["free@example.net"])
    assert "nothing changed" in text_of(mails["taken@example.net"])
    assert "/confirm/" not in text_of(mails["taken@example.net"])


def test_a_forwarded_preferences_link_cannot_take_a_subscription_over(app: App, client: TestClient) -> None:
    """Mallory holds Vic's preferences link from a forwarded digest and asks to move the subscription to
    her own address. Her inbox gets nothing; Vic's gets the approval request, and cancels it."""
    add_subscriber(app, VICTIM)
    url, csrf = preferences(app, client, VICTIM)
    assert ask_move(client, url, csrf, ATTACKER).status_code == 200
    [approval] = sent_mail(app)
    assert approval["To"] == VICTIM and ATTACKER in text_of(approval)
    assert ATTACKER not in recipients(app)
    approve = link(approval, "change-address")
    page = client.get(approve)
    assert client.post(approve, data={"action": "approve"}).status_code == 403  # the page's token is needed
    cancelled = client.post(approve, data={"csrf": csrf_of(page.text), "action": "cancel"})
    assert cancelled.status_code == 200 and f"stays at {VICTIM}" in cancelled.text
    assert client.get(approve).status_code == 410
    assert client.post(approve, data={"csrf": csrf_of(page.text), "action": "approve"}).status_code == 410
    assert counts(app)[0] == 0 and ATTACKER not in recipients(app)
    assert subscriber(app, VICTIM) is not None and subscriber(app, ATTACKER) is None


def test_an_unapproved_change_cannot_be_confirmed_and_approving_twice_sends_once(
    app: App, client: TestClient
) -> None:
    from distro.services.signup import confirm_url

    add_subscriber(app, VICTIM)
    url, csrf = preferences(app, client, VICTIM)
    ask_move(client, url, csrf, "vic@new.example")
    with app.engine.connect() as connection:
        pending = Signup(**connection.execute(sa.select(Signup)).one()._mapping)
    # No such link is ever sent before approval; if one were forged or leaked, it still would not move.
    refused = client.get(path_of(confirm_url(app, pending)))
    assert refused.status_code == 410 and "not approved" in refused.text
    approve = link(sent_mail(app)[0], "change-address")
    token = csrf_of(client.get(approve).text)
    for _ in range(2):
        assert client.post(approve, data={"csrf": token, "action": "approve"}).status_code == 200
    assert recipients(app) == [VICTIM, "vic@new.example"]
    confirm = link(next(m for m in sent_mail(app) if m["To"] == "vic@new.example"), "confirm")
    assert client.get(confirm).status_code == 200
    assert subscriber(app, "vic@new.example") is not None and subscriber(app, VICTIM) is None


# --- sign-up -------------------------------------------------------------------------------------------


def test_sign_up_limit_holds_for_every_form_of_an_address(app: App, client: TestClient) -> None:
    forms = [
        "bomb@example.org",
        "bomb@ｅxample.org",
        "bomb@EXAMPLE.org",
        "Bomb@example.org",
        "bomb@ｅxample.org",
    ]
    codes = [client.post("/subscribe", data={"email": f}).status_code for f in forms]
    assert codes == [200, 200, 200, 429, 429]  # signup_per_address_per_hour = 3 (before: all five sent)
    assert len(recipients(app)) == 3


def test_sign_up_limits_are_shared_by_web_processes(app: App, client: TestClient, second: TestClient) -> None:
    codes = [c.post("/subscribe", data={"email": "bomb@example.org"}).status_code for c in (client, second)]
    codes += [c.post("/subscribe", data={"email": "bomb@example.org"}).status_code for c in (second, client)]
    assert codes == [200, 200, 200, 429]
    app.settings.web.signup_per_ip_per_hour = 6  # the second App has its own settings: still 10
    codes = [client.post("/subscribe", data={"email": f"n{i}@example.org"}).status_code for i in range(3)]
    assert codes == [200, 200, 429]  # four of this IP's six were counted, by both apps
    assert second.post("/subscribe", data={"email": "n9@example.org"}).status_code == 200


@pytest.mark.parametrize("kind", ["subscribed", "unsubscribed", "suppressed"])
def test_sign_up_of_a_known_address_does_what_a_new_one_does(app: App, client: TestClient, kind: str) -> None:
    """Same page, same rows, same SQL statement for statement (so about the same time) for an address we
    know and one we do not. The subscriber gets a note instead of a confirmation; a suppressed address's
    message is refused at send."""
    known, new = "known@example.org", "new@example.org"
    add_subscriber(app, known, unsubscribed=kind == "unsubscribed")
    if kind == "suppressed":
        suppress(app.engine, known, "complaint")
    seen: dict[str, tuple[Any, ...]] = {}
    for address in (new, known):
        before = counts(app)
        with statements(app) as sql:
            answer = client.post("/subscribe", data={"email": address, "sections": ["Security"]})
        assert counts(app) == tuple(n + 1 for n in before)
        seen[address] = (answer.status_code, answer.text, sql)
    assert seen[known] == seen[new]
    mails = {m["To"]: m for m in sent_mail(app)}
    assert "/confirm/" in text_of(mails[new])
    if kind == "suppressed":
        assert known not in mails
    elif kind == "unsubscribed":
        assert mails[known]["Subject"].startswith("Confirm your subscription")
    else:
        note = mails[known]
        assert note["Subject"].startswith("You are already subscribed") and "/preferences/" in text_of(note)
        assert client.get(link(note, "confirm")).status_code == 200  # applies the form's choices
        assert subscriber(app, known).sections == ["Security"]  # type: ignore[union-attr]


def test_export_shows_the_address_changes_a_subscription_asked_for(app: App, client: TestClient) -> None:
    from distro.services.privacy import export_subscriber

    add_subscriber(app, VICTIM)
    ask_move(client, *preferences(app, client, VICTIM), "vic@new.example")
    assert [s["email"] for s in export_subscriber(app, VICTIM)["pending_signups"]] == ["vic@new.example"]


def test_forgetting_an_address_forgets_its_rate_limit_events(app: App, client: TestClient) -> None:
    from distro.models import RateLimitEvent
    from distro.services.limits import address_key, key_hash
    from distro.services.privacy import forget_subscriber

    assert client.post("/subscribe", data={"email": "ana@example.org"}).status_code == 200
    table = RateLimitEvent.__table__  # type: ignore[attr-defined]
    mine = table.c.key_hash == key_hash(address_key("signup", "ana@example.org"))
    with app.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).where(mine)).scalar_one() == 1
    forget_subscriber(app, "ana@example.org")
    with app.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).where(mine)).scalar_one() == 0
        assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 1  # the IP's


def test_desk_sign_in_ip_limit_is_shared_by_web_processes(
    app: App, client: TestClient, second: TestClient
) -> None:
    for settings in (app.settings, second.app.state.distro.settings):  # type: ignore[attr-defined]
        settings.web.login_per_ip_per_hour = 3
    add_editor(app, EDITOR, "correct horse battery staple")
    codes = [login(c, password="wrong").status_code for c in (client, second, client, second)]
    assert codes == [401, 401, 401, 429]  # before: a count per process, so 401 four times
