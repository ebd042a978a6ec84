"""`distro auth threads` / `distro auth linkedin`: a pasted token checked, its end learnt, stored sealed.

Threads and LinkedIn are faked at the transport level (tests/fakes/threads_api.py, linkedin_api.py),
mounted on the flows' own sessions; the clock is pinned, so every end below is a fixed instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from cryptography.fernet import Fernet
from pydantic import SecretStr

from distro.accounts import list_accounts
from distro.app import App
from distro.auth import AuthError, authorize_linkedin, authorize_threads
from distro.models import SocialAccount
from distro.settings import SocialAccountSettings
from tests.fakes import linkedin_api, threads_api
from tests.fakes.linkedin_api import FakeLinkedIn
from tests.fakes.threads_api import FakeThreads


@pytest.fixture
def keyed(app: App, clock: time_machine.Traveller) -> Iterator[App]:
    s = app.settings
    s.token_key = SecretStr(Fernet.generate_key().decode())
    s.threads.enabled = s.linkedin.enabled = True
    s.threads.mode = s.linkedin.mode = "api"
    s.linkedin.organization_id = linkedin_api.ORGANIZATION_ID
    s.linkedin.client_id, s.linkedin.client_secret = (
        linkedin_api.CLIENT_ID,
        SecretStr(linkedin_api.CLIENT_SECRET),
    )
    yield app


class Terminal:
    """The person at the terminal: answers in order, what is printed is kept."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.printed: list[str] = []
        self.secret_prompts: list[str] = []

    def ask(self, prompt: str) -> str:
        return self.answers.pop(0)

    def ask_secret(self, prompt: str) -> str:
        self.secret_prompts.append(prompt)
        return self.answers.pop(0)

    def io(self) -> dict[str, object]:
        return {"ask": self.ask, "ask_secret": self.ask_secret, "say": self.printed.append}


def stored(app: App) -> dict[str, SocialAccount]:
    with app.engine.connect() as c:
        return {row.platform: row for row in c.execute(sa.select(SocialAccount))}  # type: ignore[misc]


def test_a_pasted_threads_token_is_checked_refreshed_and_stored_with_its_end(keyed: App) -> None:
    fake = FakeThreads(age_days=10)
    terminal = Terminal(threads_api.TOKEN)
    authorize_threads(keyed.engine, keyed.settings, adapter=fake, **terminal.io())  # type: ignore[arg-type]
    row = stored(keyed)["threads"]
    assert row.user_id == threads_api.USER_ID and row.status == "ok"
    assert row.expires_at == datetime.now(UTC) + timedelta(days=60)
    assert threads_api.TOKEN not in (row.token or "") and threads_api.TOKEN not in " ".join(terminal.printed)
    assert terminal.secret_prompts == ["Threads token: "]  # asked hidden
    assert "@meridianreview" in terminal.printed[-1] and "refreshes it 7 days before" in terminal.printed[-1]
    listed = {r.channel: r for r in list_accounts(keyed.engine, keyed.settings)}["threads"]
    assert listed.token == "stored" and listed.expires_at == row.expires_at


def test_a_threads_token_too_new_to_refresh_counts_its_60_days_once_the_editor_says_so(keyed: App) -> None:
    fake = FakeThreads(age_days=0.2)
    authorize_threads(keyed.engine, keyed.settings, adapter=fake, **Terminal(threads_api.TOKEN, "y").io())  # type: ignore[arg-type]
    assert stored(keyed)["threads"].expires_at == datetime.now(UTC) + timedelta(days=59)


def test_a_threads_token_of_unknown_age_or_a_wrong_one_is_not_stored(keyed: App) -> None:
    with pytest.raises(AuthError, match="cannot be known"):
        authorize_threads(
            keyed.engine,
            keyed.settings,
            adapter=FakeThreads(age_days=0.2),
            **Terminal(threads_api.TOKEN, "n").io(),  # type: ignore[arg-type]
        )
    with pytest.raises(AuthError, match="read the Threads profile") as refused:
        authorize_threads(
            keyed.engine, keyed.settings, adapter=FakeThreads(), **Terminal("not-a-token-123").io()
        )  # type: ignore[arg-type]
    assert "not-a-token-123" not in str(refused.value) and stored(keyed) == {}


def test_a_linkedin_refresh_token_gives_both_ends_and_is_checked_on_the_page(keyed: App) -> None:
    fake = FakeLinkedIn(age_days=30)
    terminal = Terminal(linkedin_api.REFRESH_TOKEN)
    authorize_linkedin(keyed.engine, keyed.settings, adapter=fake, **terminal.io())  # type: ignore[arg-type]
    row = stored(keyed)["linkedin"]
    now = datetime.now(UTC)
    assert row.expires_at == now + timedelta(days=60) and row.refresh_expires_at == now + timedelta(days=335)
    assert [s.method for s in fake.seen] == ["POST", "GET"]  # the grant, then the page's posts
    assert linkedin_api.REFRESH_TOKEN not in (row.token or "")
    assert "authorise again by 2027-10-28" in terminal.printed[-1]


def test_a_linkedin_access_token_alone_is_stored_as_unrefreshable(keyed: App) -> None:
    terminal = Terminal("", linkedin_api.TOKEN)
    authorize_linkedin(keyed.engine, keyed.settings, adapter=FakeLinkedIn(), **terminal.io())  # type: ignore[arg-type]
    row = stored(keyed)["linkedin"]
    assert row.expires_at == datetime.now(UTC) + timedelta(days=60) and row.refresh_expires_at is None
    assert "cannot be refreshed" in terminal.printed[-1]


def test_a_page_the_member_does_not_administer_is_refused_clearly(keyed: App) -> None:
    keyed.settings.linkedin.accounts = [
        SocialAccountSettings(name="other", organization_id="999", sections=["Security"])
    ]
    with pytest.raises(AuthError, match="administrator"):
        authorize_linkedin(
            keyed.engine,
            keyed.settings,
            account="other",
            adapter=FakeLinkedIn(),
            **Terminal("", linkedin_api.TOKEN).io(),  # type: ignore[arg-type]
        )
    with pytest.raises(AuthError, match="invalid_client|Client authentication"):
        keyed.settings.linkedin.client_secret = SecretStr("wrong-secret")
        authorize_linkedin(
            keyed.engine, keyed.settings, adapter=FakeLinkedIn(), **Terminal(linkedin_api.REFRESH_TOKEN).io()
        )  # type: ignore[arg-type]
    assert stored(keyed) == {}
