"""Queries per entity: the only modules that speak SQL about distro's rows (the outbox is the store of
sends in flight; :mod:`.deliveries` and :mod:`.delivery_log` hold the other queries about deliveries).

Conventions, so a use case reads as a story:
- A function that composes into the caller's transaction takes it as its first argument: a
  :class:`~sqlmodel.Session` for rows as objects, a :class:`~sqlalchemy.engine.Connection` for bulk Core
  statements (``session.connection()`` turns one into the other). The use case decides what commits
  together (``db.session_scope`` / ``engine.begin()``).
- A function that is a transaction by itself takes the :class:`~sqlalchemy.engine.Engine` and returns
  detached rows (a use case can hold them across slow work without a session open).
- A use case that holds a session may use its unit of work on rows it has (``get``, ``add``, ``delete``,
  changing attributes); every query (a select, a bulk update or delete, a join, a count) is a store function.
- Columns are typed: ``col(Model.field)`` for expressions, :func:`table` for Core statements, so mypy
  checks every name. Status changes go through :mod:`.transitions`.
- The store stands on the models, ``db`` and settings only: never on services, compose or channels.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel


def table(model: type[SQLModel]) -> sa.Table:
    """The Core table of a SQLModel table class, typed (``Model.__table__`` is not declared)."""
    found = getattr(model, "__table__", None)
    if not isinstance(found, sa.Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return found


def ping(engine: Engine) -> None:
    """One round trip to the database; raises whatever the driver raises when it does not answer."""
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
