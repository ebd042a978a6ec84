"""/desk/api-tokens and /desk/accounts in headless Chromium at 375 px against a live server, as an admin:
a token made on the page is shown once, calls /api/v1, and after "Revoke…" and the confirmation gets 401;
the accounts page shows each account's state and refreshes the due Threads token (a wire-level fake).
Nothing sticks out sideways, every control is labelled, axe finds nothing; screenshots in artifacts/e2e/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from distro.app import App
from distro.services.api_tokens import list_tokens
from distro.services.editors import add_editor
from tests.fakes.threads_api import FakeThreads
from tests.web.browser import Serve
from tests.web.test_desk_accounts import fake, social_app
from tests.web.test_e2e_desk_people import PASSWORD, check_page, editor_of, phone, sign_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
__all__ = ["fake", "phone", "social_app"]  # fixtures
NAME = "newsroom-cms-production-integration"


def test_an_admin_makes_a_token_on_a_phone_uses_it_and_revokes_it(
    social_app: App, serve: Serve, phone: Page
) -> None:
    add_editor(social_app, editor_of("admin"), PASSWORD, role="admin")
    server = serve(social_app)
    sign_in(phone, server, "admin", "/desk/api-tokens")
    expect(phone.get_by_role("link", name="API tokens")).to_have_attribute("aria-current", "page")
    phone.get_by_label("Name (who or what uses it)").fill(NAME)
    phone.get_by_label("Scope").select_option("write")
    phone.get_by_role("button", name="Create").click()
    expect(phone.get_by_text("Copy it now, it is not stored")).to_be_visible()
    token = phone.locator("#token-value").inner_text().strip()
    assert token.startswith("distro_") and len(token) == 50
    check_page(phone, "desk-api-tokens-created-375px")
    bearer = {"Authorization": f"Bearer {token}"}
    assert phone.request.get(server.link("/api/v1/articles"), headers=bearer).status == 200

    phone.goto(server.link("/desk/api-tokens"))
    assert token not in phone.content()
    phone.get_by_role("link", name=f"Revoke {NAME}").click()
    expect(phone.get_by_role("heading", name=f"Revoke {NAME}?")).to_be_visible()
    check_page(phone, "desk-api-tokens-confirm-375px")
    phone.get_by_role("button", name=f"Yes, revoke {NAME}").click()
    expect(phone.get_by_role("status")).to_have_text(f"Revoked {NAME}: its next request to the API gets 401.")
    assert phone.request.get(server.link("/api/v1/articles"), headers=bearer).status == 401
    assert [t.revoked_at is not None for t in list_tokens(social_app)] == [True]
    check_page(phone, "desk-api-tokens-375px")


def test_an_admin_reads_the_accounts_and_refreshes_on_a_phone(
    social_app: App, serve: Serve, phone: Page, fake: FakeThreads
) -> None:
    add_editor(social_app, editor_of("admin"), PASSWORD, role="admin")
    server = serve(social_app)
    sign_in(phone, server, "admin", "/desk/accounts")
    threads = phone.locator('tr[data-account="threads"]')
    expect(threads).to_contain_text("refresh due")
    expect(phone.locator('tr[data-account="x"]')).to_contain_text("X said 429: rate limit")
    check_page(phone, "desk-accounts-375px")
    phone.get_by_role("button", name="Refresh tokens now").click()
    expect(phone.get_by_role("status")).to_have_text("Token refresh: threads: refreshed.")
    expect(threads).not_to_contain_text("refresh due")
    check_page(phone, "desk-accounts-refreshed-375px")
