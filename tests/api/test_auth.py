"""Bearer tokens on /api/v1: a missing, bad or revoked token is a 401 problem with a challenge; a read
token may read and gets 403 on every write (and changes nothing); each token has its own rate limit; only
the token's hash is stored; writes are recorded under the token's name. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import col, select

from distro.app import App, build_app
from distro.db import session_scope, upgrade
from distro.models import Activity, ApiToken, Article
from distro.services.api_tokens import create_token, list_tokens, revoke_token, token_hash
from distro.settings import Settings
from distro.web.app import create_web_app
from tests.api.conftest import Api, problem_of

WRITES = [
    ("POST", "/articles", {"url": "https://mag.example/a"}),
    ("POST", "/subscribers", {"email": "ana@example.org"}),
    ("PATCH", "/subscribers/1", {"pause_weeks": 1}),
    ("POST", "/subscribers/1/unsubscribe", None),
    ("DELETE", "/subscribers/1", None),
    ("POST", "/suppressions", {"email": "ana@example.org"}),
    ("DELETE", "/suppressions/ana@example.org", None),
    ("POST", "/editions/weekly-2026-W49/send", None),
    ("POST", "/editions/weekly-2026-W49/schedule", {"send_at": "2026-11-30T07:00:00+00:00"}),
    ("DELETE", "/editions/weekly-2026-W49/schedule", None),
    ("PATCH", "/posts/1", {"text": "new"}),
    ("POST", "/posts/1/hold", None),
    ("POST", "/posts/1/release", None),
    ("POST", "/posts/1/post-now", None),
]


def test_a_request_without_a_good_token_is_a_401_problem_with_a_challenge(api: Api) -> None:
    revoked = create_token(api.app, "old", "write", actor="cli")
    assert revoke_token(api.app, "old", actor="cli") is True
    sent = [
        {},  # no header
        {"Authorization": "Bearer"},  # no token
        {"Authorization": "Bearer distro_" + "x" * 43},  # well formed, unknown
        {"Authorization": f"Bearer {api.write[:-1]}"},  # cut short
        {"Authorization": f"Bearer {revoked}"},
        {"Authorization": f"Basic {api.write}"},  # another scheme
    ]
    for headers in sent:
        response = api.get("/articles", token=None, headers=headers)
        body = problem_of(response, 401)
        assert response.headers["www-authenticate"] == 'Bearer realm="distro"'
        assert "Bearer" in body["detail"] or "unknown or revoked" in body["detail"]
    assert api.get("/articles", token=api.read).status_code == 200


def test_a_read_token_reads_and_gets_403_on_every_write_changing_nothing(api: Api) -> None:
    for path in ("/articles", "/editions", "/subscribers", "/suppressions", "/deliveries", "/posts"):
        listed = api.get(path, token=api.read)
        assert listed.status_code == 200 and listed.json() == {"items": [], "next_cursor": None}
    for method, path, body in WRITES:
        response = api.call(method, path, token=api.read, json=body)
        assert "read-only" in problem_of(response, 403)["detail"], (method, path)
    with session_scope(api.app.engine) as session:
        assert session.exec(select(Article)).first() is None
        assert [a.action for a in session.exec(select(Activity))] == ["apitoken.create"] * 2


def test_only_the_hash_of_a_token_is_stored_and_its_use_is_recorded(api: Api) -> None:
    with api.app.engine.connect() as connection:
        rows = [tuple(r) for r in connection.execute(sa.text("SELECT * FROM apitoken"))]
    assert rows and not any(api.write in str(cell) or api.read in str(cell) for row in rows for cell in row)
    with session_scope(api.app.engine) as session:
        hashes = {t.name: t.token_hash for t in session.exec(select(ApiToken))}
    assert hashes == {"cms": token_hash(api.write), "dashboard": token_hash(api.read)}
    assert {t.name: t.last_used_at for t in list_tokens(api.app)} == {"cms": None, "dashboard": None}
    api.get("/articles", token=api.read)
    used = {t.name: t.last_used_at for t in list_tokens(api.app)}
    assert used["cms"] is None and used["dashboard"] is not None


def test_writes_are_recorded_under_the_token_name(api: Api) -> None:
    assert api.post("/subscribers", json={"email": "ana@example.org"}).status_code == 201
    assert api.post("/suppressions", json={"email": "spam@example.org"}).status_code == 201
    assert api.delete("/subscribers/1").status_code == 200
    with session_scope(api.app.engine) as session:
        rows = [
            (a.actor, a.action, a.subject, a.detail)
            for a in session.exec(select(Activity).order_by(col(Activity.id)))
        ]
    assert rows[2:] == [
        ("api:cms", "subscriber.create", "subscriber 1", "active at once"),
        ("api:cms", "suppression.add", "suppression 1", "manual"),
        ("api:cms", "subscriber.forget", "subscriber 1", "forgotten"),
    ]
    assert rows[:2] == [
        ("cli:test", "apitoken.create", "api token cms", "write"),
        ("cli:test", "apitoken.create", "api token dashboard", "read"),
    ]
    assert not any("ana@example.org" in " ".join(row) for row in rows)  # the forgotten reader's address


def test_each_token_has_its_own_rate_limit_answered_with_retry_after(
    settings: Settings, clock: time_machine.Traveller
) -> None:
    web = settings.web.model_copy(update={"api_requests_per_minute": 3})
    app: App = build_app(settings.model_copy(update={"web": web}))
    upgrade(app.engine)
    try:
        busy, other = (create_token(app, name, "read", actor="cli") for name in ("busy", "other"))
        with TestClient(create_web_app(app)) as client:

            def get(token: str) -> int:
                answer = client.get("/api/v1/articles", headers={"Authorization": f"Bearer {token}"})
                return int(answer.status_code)

            assert [get(busy) for _ in range(3)] == [200, 200, 200]
            refused = client.get("/api/v1/articles", headers={"Authorization": f"Bearer {busy}"})
            assert "3 requests in a minute" in problem_of(refused, 429)["detail"]
            assert refused.headers["retry-after"] == "60"
            assert get(other) == 200  # another token is not slowed by this one
            clock.shift(timedelta(seconds=61))
            assert get(busy) == 200
    finally:
        app.engine.dispose()


def test_no_token_reaches_the_logs_or_an_answer(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = api.write[:-2] + "xx"
    answers = [
        api.get("/subscribers", token=api.read),
        api.get("/subscribers", token=wrong),
        api.post("/subscribers", token=api.read, json={"email": "ana@example.org"}),
        api.post("/subscribers", json={"email": "not an address"}),
    ]
    for token in (api.write, api.read, wrong):
        assert token not in caplog.text
        assert not any(token in answer.text for answer in answers)
