"""Desk sign-in lockout on SQLite and PostgreSQL: a guesser is stopped, a stranger cannot lock the editor
out, every refusal reads the same and costs one argon2 verify, and parallel guesses are counted exactly.

The clock is pinned (``clock``), so lock lengths are exact. ``verifies`` records the hash of every argon2
verify the desk runs (the real hasher, only watched), which says which attempts had their password checked.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from httpx import Response

from distro.app import App
from distro.models import Editor, SignInClient, utcnow
from distro.services import editors
from distro.services.editors import LoginRefused, add_editor, authenticate, client_of, set_password
from distro.web.app import create_web_app
from tests.web.desk import EDITOR, PASSWORD, login

STRANGER, OTHER_NETWORK = "203.0.113.9", "198.51.100.7"


class WatchedHasher(PasswordHasher):
    """argon2-cffi's hasher, recording the hash each verify is run against."""

    def __init__(self) -> None:
        super().__init__()
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 (argon2's name)
        self.verified.append(hash if isinstance(hash, str) else hash.decode())
        return super().verify(hash, password)


@pytest.fixture
def verifies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    hasher = WatchedHasher()
    monkeypatch.setattr(editors, "_HASHER", hasher)
    return hasher.verified


def from_(app: App, host: str) -> TestClient:
    return TestClient(create_web_app(app), client=(host, 40000))


@pytest.fixture
def editor_hash(app: App) -> str:
    return add_editor(app, EDITOR, PASSWORD).password_hash


def alert(response: Response) -> str:
    found = re.search(r'<p class="alert" role="alert">(.*?)</p>', response.text)
    assert found, response.text[:2000]
    return found.group(1)


def account(app: App) -> tuple[int, object]:
    with app.engine.connect() as connection:
        row = connection.execute(sa.select(Editor.failed_logins, Editor.locked_until)).one()
    return row.failed_logins, row.locked_until


def clients(app: App) -> list[tuple[int, object]]:
    with app.engine.connect() as connection:
        rows = connection.execute(sa.select(SignInClient.failures, SignInClient.locked_until)).all()
    return [(r.failures, r.locked_until) for r in rows]


def test_a_guesser_is_stopped_after_the_limit_even_with_the_right_password(
    app: App, editor_hash: str, clock: time_machine.Coordinates, verifies: list[str]
) -> None:
    limit = app.settings.web.login_max_failures
    guesser = from_(app, STRANGER)
    assert {login(guesser, password=f"guess number {i}").status_code for i in range(limit)} == {401}
    assert verifies.count(editor_hash) == limit
    assert login(guesser).status_code == 401  # the right password now, unchecked
    assert login(guesser, password="one more guess").status_code == 401
    assert verifies.count(editor_hash) == limit and len(verifies) == limit + 2
    lock = utcnow() + timedelta(minutes=15)  # exact: the clock is pinned
    assert account(app) == (limit, lock) and clients(app) == [(limit, lock)]
    # The lock lifts by itself; one more wrong password then locks this client and the account twice as long.
    clock.shift(timedelta(minutes=16))
    assert login(guesser, password="guess after the lock").status_code == 401
    relock = utcnow() + timedelta(minutes=30)
    assert account(app) == (limit + 1, relock) and clients(app) == [(limit + 1, relock)]
    clock.shift(timedelta(minutes=31))
    assert login(guesser).status_code == 303
    assert account(app) == (0, None) and clients(app) == []


def test_a_stranger_hammering_does_not_lock_the_editor_out(
    app: App, editor_hash: str, clock: time_machine.Coordinates, verifies: list[str]
) -> None:
    limit = app.settings.web.login_max_failures
    stranger = from_(app, STRANGER)
    assert {login(stranger, password=f"guess number {i}").status_code for i in range(3 * limit)} == {401}
    assert verifies.count(editor_hash) == limit
    assert account(app)[1] == utcnow() + timedelta(minutes=15)  # the account is locked...
    assert login(from_(app, OTHER_NETWORK)).status_code == 303  # ...yet the editor signs in from elsewhere
    assert login(stranger).status_code == 401  # and the stranger stays stopped, right password or not
    assert verifies.count(editor_hash) == limit + 1


def test_while_locked_another_network_gets_one_check_per_lockout_period(
    app: App, editor_hash: str, clock: time_machine.Coordinates, verifies: list[str]
) -> None:
    limit = app.settings.web.login_max_failures
    stranger, other = from_(app, STRANGER), from_(app, OTHER_NETWORK)
    for i in range(limit):
        login(stranger, password=f"guess number {i}")
    assert login(other, password="a second guesser").status_code == 401  # checked: a fresh network
    assert login(other).status_code == 401  # not checked: it has tried within the lockout
    assert verifies.count(editor_hash) == limit + 1
    assert account(app) == (limit + 1, utcnow() + timedelta(minutes=30))  # its failure counts, too
    clock.shift(timedelta(minutes=15))
    assert login(other).status_code == 303


def test_an_ipv6_guesser_is_one_client_per_64() -> None:
    assert client_of("2001:db8:1:2::1") == client_of("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_of("2001:db8:1:3::1") != client_of("2001:db8:1:2::1")
    assert client_of("::ffff:203.0.113.9") == client_of("203.0.113.9") == "203.0.113.9"
    assert client_of("testclient") == "testclient"


def test_ipv6_addresses_of_one_line_share_a_lock(
    app: App, editor_hash: str, clock: time_machine.Coordinates
) -> None:
    limit = app.settings.web.login_max_failures
    for i in range(limit):
        assert login(from_(app, f"2001:db8::{i + 1}"), password=f"guess number {i}").status_code == 401
    assert login(from_(app, f"2001:db8::{limit + 1}")).status_code == 401
    assert login(from_(app, "2001:db8:0:1::1")).status_code == 303  # another line


def test_unknown_address_wrong_password_and_lock_read_the_same_and_cost_one_verify(
    app: App, editor_hash: str, clock: time_machine.Coordinates, verifies: list[str]
) -> None:
    limit = app.settings.web.login_max_failures
    client = from_(app, STRANGER)
    unknown = login(client, email="nobody@example.org")
    wrong = [login(client, password=f"not the password {i}") for i in range(limit)]
    locked = login(client)
    assert unknown.status_code == wrong[0].status_code == locked.status_code == 401
    assert alert(unknown) == alert(wrong[0]) == alert(locked)
    assert "wrong address or password" in alert(locked) and "locked" not in locked.text

    def page(response: Response) -> str:
        return re.sub(r'value="[^"]*"', 'value=""', response.text)  # the form's nonce and address

    assert page(unknown) == page(wrong[0]) == page(locked)
    assert dict(unknown.headers).keys() == dict(locked.headers).keys()
    # One verify each: the unknown address and the lock against the dummy hash, made with the same
    # argon2 parameters as the editor's (so it costs the same), the wrong password against the real one.
    dummy = verifies[0]
    assert verifies == [dummy] + [editor_hash] * limit + [dummy] and dummy != editor_hash
    assert dummy.rsplit("$", 2)[0] == editor_hash.rsplit("$", 2)[0]  # $argon2id$v=19$m=..,t=..,p=..


def test_unknown_addresses_lock_per_client_too_and_are_stored_only_as_digests(
    app: App, clock: time_machine.Coordinates
) -> None:
    limit = app.settings.web.login_max_failures
    client = from_(app, STRANGER)
    for _ in range(limit + 3):
        login(client, email="nobody@example.org")
    assert clients(app) == [(limit, utcnow() + timedelta(minutes=15))]
    with app.engine.connect() as connection:
        stored = " ".join(str(v) for v in connection.execute(sa.select(SignInClient)).one())
    assert "nobody" not in stored and STRANGER not in stored


def test_a_new_password_lifts_every_lock(app: App, editor_hash: str, clock: time_machine.Coordinates) -> None:
    client = from_(app, STRANGER)
    for i in range(app.settings.web.login_max_failures):
        login(client, password=f"guess number {i}")
    set_password(app, EDITOR, "another long password")
    assert account(app) == (0, None) and clients(app) == []
    assert login(client, password="another long password").status_code == 303


def test_old_clients_are_forgotten_a_day_after_their_lock(
    app: App, editor_hash: str, clock: time_machine.Coordinates
) -> None:
    client = from_(app, STRANGER)
    login(client, password="a wrong password")
    clock.shift(timedelta(days=1, seconds=1))
    login(from_(app, OTHER_NETWORK), email="nobody@example.org")
    assert clients(app) == [(1, None)]  # only the new one


def test_parallel_wrong_passwords_check_exactly_the_limit(
    app: App, editor_hash: str, clock: time_machine.Coordinates, verifies: list[str]
) -> None:
    """The burst that checked 55 passwords (limit 5) and left failed_logins at 2 on PostgreSQL."""
    limit = app.settings.web.login_max_failures

    def guess(i: int) -> bool:
        try:
            authenticate(app, EDITOR, f"parallel guess {i}", client=STRANGER)
        except LoginRefused:
            return False
        return True

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(guess, range(20)))
    assert results == [False] * 20
    assert len(verifies) == 20 and verifies.count(editor_hash) == limit
    assert account(app) == (limit, utcnow() + timedelta(minutes=15))
    assert clients(app) == [(limit, utcnow() + timedelta(minutes=15))]
