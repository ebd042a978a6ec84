"""Scheduler leadership on PostgreSQL: one leader per schema. Two schedulers on one schema exclude each
other; two distro installations in one database (a schema each) each have their own leader."""

from __future__ import annotations

import sqlalchemy as sa

from distro.db import make_engine
from distro.leader import PostgresLeadership
from tests.conftest import postgres_schema


def test_one_leader_per_schema_and_one_for_each_schema() -> None:
    with postgres_schema() as first_url, postgres_schema() as second_url:
        first = make_engine(first_url, poolclass=sa.pool.NullPool)
        second = make_engine(second_url, poolclass=sa.pool.NullPool)
        leader, rival, other_site = (
            PostgresLeadership(first),
            PostgresLeadership(first),
            PostgresLeadership(second),
        )
        try:
            assert leader.try_acquire() and leader.still_held()
            assert not rival.try_acquire()  # same schema: it waits as a standby
            assert other_site.try_acquire()  # another schema: a leader of its own
            leader.release()
            assert rival.try_acquire()  # the standby takes over once the leader lets go
        finally:
            for each in (leader, rival, other_site):
                each.release()
            first.dispose()
            second.dispose()
