"""Inserting outbox rows, skipping keys that exist, and counting the new ones: queueing's one write.

On PostgreSQL the rows go in as one array per column (``INSERT ... SELECT FROM unnest(...)``): the
statement's text is the same for any number of rows, so neither SQLAlchemy nor psycopg converts a
statement per chunk. A multi-row ``VALUES`` list made psycopg rewrite a 5,000-parameter query every 500
rows, 40% of ``queue_edition``'s time on PostgreSQL (issue 17). SQLite's executemany is cheap as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from distro.models import Delivery
from distro.store import table

_D = table(Delivery)


def insert_new(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert ``rows`` (dicts of Delivery columns with ``key``); a key already queued is skipped."""
    created = 0
    for columns, same in _by_columns(rows).items():  # an executemany takes one shape of row
        if connection.dialect.name == "postgresql":
            arrays = {name: [row[name] for row in same] for name in columns}
            created += len(connection.execute(_unnest_insert(columns), arrays).all())
        else:
            created += len(connection.execute(_RETURNING_NEW, same).all())
    return created


_RETURNING_NEW = sqlite.insert(_D).on_conflict_do_nothing(index_elements=["key"]).returning(_D.c.id)


def _by_columns(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, ...], list[Mapping[str, Any]]]:
    """Rows grouped by the columns they set (callers queue a few shapes: digest rows, social rows)."""
    groups: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return groups


@cache
def _unnest_insert(columns: tuple[str, ...]) -> sa.Insert:  # one statement per shape, compiled once
    # Each array is cast to its column's type: a column that is NULL in every row still has one.
    arrays = [
        sa.func.unnest(sa.cast(sa.bindparam(name), postgresql.ARRAY(_D.c[name].type))) for name in columns
    ]
    source = sa.select(*arrays)
    statement = postgresql.insert(_D).from_select(list(columns), source)
    return statement.on_conflict_do_nothing(index_elements=["key"]).returning(_D.c.id)
