"""Status columns read back as their enums, stay plain strings in the database, and a state this version
does not know (written by a newer one) is read as the string rather than refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from distro.db import make_engine, upgrade
from distro.models import Subscriber, SubscriberStatus
from distro.store import subscribers


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_a_status_is_its_enum_in_python_and_a_string_in_the_database(engine: Engine) -> None:
    assert subscribers.add(engine, Subscriber(email="ana@example.org"))
    with Session(engine) as session:
        row = session.exec(select(Subscriber)).one()
        stored = session.execute(sa.text("SELECT status FROM subscriber")).scalar_one()
    assert row.status is SubscriberStatus.ACTIVE
    assert type(stored) is str and stored == "active"


def test_a_state_from_a_newer_version_is_read_as_its_string(engine: Engine) -> None:
    assert subscribers.add(engine, Subscriber(email="bo@example.org"))
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE subscriber SET status = 'archived'"))
    with Session(engine) as session:
        assert session.exec(select(Subscriber)).one().status == "archived"


def test_a_status_change_goes_through_the_table() -> None:
    subscriber = Subscriber(email="cy@example.org")
    assert subscribers.set_status(subscriber, SubscriberStatus.UNSUBSCRIBED)
    assert subscriber.unsubscribed_at is not None
    assert not subscribers.set_status(subscriber, SubscriberStatus.UNSUBSCRIBED)  # already there
    assert subscribers.set_status(subscriber, SubscriberStatus.ACTIVE)
    assert subscriber.unsubscribed_at is None
