"""/desk/api-tokens through the whole web app (desk and /api/v1), on SQLite and PostgreSQL: an admin makes
a token, sees it once, and it calls the API; revoking (after a confirmation) makes it 401; both are in the
activity record under the admin; the token and its hash are never on a later page, in a redirect or a
cookie; editors and viewers get 403 for the page and every form, and nothing changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import col

from distro.app import App
from distro.models import Activity, ApiToken
from distro.services.api_tokens import create_token, list_tokens, token_hash
from distro.web.app import create_web_app
from tests.web.desk import EDITOR, signed_in

TOKEN = re.compile(r"distro_[A-Za-z0-9_-]{43}")


@pytest.fixture
def client(app: App, clock: time_machine.Traveller) -> Iterator[TestClient]:
    with TestClient(create_web_app(app)) as opened:
        yield opened


def activity(app: App) -> list[tuple[str, str, str, str]]:
    with app.engine.connect() as connection:
        query = sa.select(
            col(Activity.actor), col(Activity.action), col(Activity.subject), col(Activity.detail)
        )
        rows = connection.execute(
            query.where(col(Activity.action).like("apitoken.%")).order_by(col(Activity.id))
        )
        return [(r.actor, r.action, r.subject, r.detail) for r in rows]


def test_an_admin_creates_a_token_sees_it_once_and_revokes_it(app: App, client: TestClient) -> None:
    csrf = signed_in(app, client, "/desk/api-tokens")
    made = client.post(
        "/desk/api-tokens/create",
        data={"csrf_token": csrf, "name": "cms", "scope": "write"},
        follow_redirects=False,
    )
    assert made.status_code == 200  # the answer itself, not a redirect whose address could keep it
    assert made.headers["cache-control"] == "no-store"
    assert "Copy it now, it is not stored" in made.text
    shown = TOKEN.findall(made.text)
    assert len(set(shown)) == 1
    token = shown[0]
    assert token not in "".join(f"{k}={v}" for k, v in made.headers.items())  # no cookie, no location
    assert token_hash(token) not in made.text
    with app.engine.connect() as connection:
        assert connection.execute(sa.select(col(ApiToken.token_hash))).scalar_one() == token_hash(token)

    listed = client.get("/desk/api-tokens")
    assert listed.status_code == 200 and 'data-token="cms"' in listed.text
    assert token not in listed.text and token_hash(token) not in listed.text
    assert not TOKEN.search(listed.text) and "Copy it now" not in listed.text

    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/articles", headers=bearer).status_code == 200

    asked = client.get("/desk/api-tokens", params={"revoke": "cms"})
    assert "Revoke cms?" in asked.text and 'name="confirm" value="yes"' in asked.text
    unconfirmed = client.post("/desk/api-tokens/revoke", data={"csrf_token": csrf, "name": "cms"})
    assert "Not revoked: confirm revoking" in unconfirmed.text
    assert client.get("/api/v1/articles", headers=bearer).status_code == 200  # still works
    revoked = client.post(
        "/desk/api-tokens/revoke", data={"csrf_token": csrf, "name": "cms", "confirm": "yes"}
    )
    assert "Revoked cms: its next request to the API gets 401." in revoked.text
    assert client.get("/api/v1/articles", headers=bearer).status_code == 401
    again = client.post("/desk/api-tokens/revoke", data={"csrf_token": csrf, "name": "cms", "confirm": "yes"})
    assert "cms was revoked already." in again.text
    assert [t.revoked_at is not None for t in list_tokens(app)] == [True]
    assert activity(app) == [
        (f"editor:{EDITOR}", "apitoken.create", "api token cms", "write"),
        (f"editor:{EDITOR}", "apitoken.revoke", "api token cms", ""),
    ]


def test_bad_input_is_one_line_and_keeps_what_was_typed(app: App, client: TestClient) -> None:
    csrf = signed_in(app, client, "/desk/api-tokens")
    create_token(app, "cms", "read", actor="cli")
    cases = {
        ("bad name!", "read"): "bad token name",
        ("cms", "read"): "a token named &#39;cms&#39; exists already",
        ("reports", "admin"): "bad scope",
    }
    for (name, scope), said in cases.items():
        page = client.post("/desk/api-tokens/create", data={"csrf_token": csrf, "name": name, "scope": scope})
        assert page.status_code == 422 and said in page.text, page.text
        assert not TOKEN.search(page.text)
    assert 'value="reports"' in page.text  # the last one typed is back in the form
    missing = client.post(
        "/desk/api-tokens/revoke", data={"csrf_token": csrf, "name": "nobody", "confirm": "yes"}
    )
    assert "Not revoked: no API token named" in missing.text
    assert [t.name for t in list_tokens(app)] == ["cms"]
    assert [a[1] for a in activity(app)] == ["apitoken.create"]  # the CLI's, nothing from the refusals


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_admins_reach_the_api_tokens_page(app: App, client: TestClient, role: str) -> None:
    existing = create_token(app, "cms", "write", actor="cli")
    csrf = signed_in(app, client, "/desk/activity", role=role)
    page = client.get("/desk/api-tokens")
    assert page.status_code == 403 and "cms" not in page.text
    assert 'href="/desk/api-tokens"' not in client.get("/desk/activity").text  # no nav link either
    forms = {
        "/desk/api-tokens/create": {"name": "mine", "scope": "write"},
        "/desk/api-tokens/revoke": {"name": "cms", "confirm": "yes"},
    }
    for path, data in forms.items():
        assert client.post(path, data={"csrf_token": csrf, **data}).status_code == 403, path
    assert [(t.name, t.revoked_at) for t in list_tokens(app)] == [("cms", None)]
    assert client.get("/api/v1/articles", headers={"Authorization": f"Bearer {existing}"}).status_code == 200
    assert [a[0] for a in activity(app)] == ["cli"]
