"""A what-if for the send benchmark, not distro code: ``outbox.record`` with one executemany UPDATE.

Today :func:`distro.outbox.record` builds one UPDATE statement per row, and SQLAlchemy spends most of the
end-to-end CPU building cache keys for them. This variant keeps the same transaction, attempt log and
lease rule, but moves every *sent* row on with ONE statement compiled once and executed with a parameter
list (DBAPI executemany); other outcomes (rare) keep the per-row path. It is patched into a benchmark
worker process only, to measure the engine change proposed to the outbox owner.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from distro import outbox
from distro.models import AttemptOutcome, DeliveryStatus, utcnow
from distro.outbox import A, D, Outcome
from distro.services.suppression import Bounce, count_bounces
from distro.settings import DispatchSettings

_SENT = (
    sa.update(D)
    .where(
        D.c.id == sa.bindparam("row_id"),
        sa.or_(
            sa.and_(D.c.lease_owner == sa.bindparam("worker"), D.c.status == DeliveryStatus.SENDING),
            D.c.status != DeliveryStatus.SENT,
        ),
    )
    .values(
        status=DeliveryStatus.SENT,
        provider_id=sa.bindparam("provider"),
        sent_at=sa.bindparam("now"),
        updated_at=sa.bindparam("now"),
        last_error=None,
        lease_owner=None,
        lease_until=None,
    )
)


def batched_record(
    engine: Engine, outcomes: Sequence[Outcome], *, worker: str, settings: DispatchSettings
) -> None:
    if not outcomes:
        return
    now = utcnow()
    attempts = [
        {
            "delivery_id": o.claimed.id,
            "number": o.claimed.attempt,
            "worker": worker,
            "outcome": o.outcome,
            "provider_id": o.provider_id,
            "error": o.error,
            "started_at": o.claimed.started_at,
            "finished_at": o.finished_at or now,
        }
        for o in outcomes
    ]
    sent = [
        {"row_id": o.claimed.id, "worker": worker, "provider": o.provider_id, "now": now}
        for o in outcomes
        if o.outcome == AttemptOutcome.SENT
    ]
    with engine.begin() as connection:
        connection.execute(sa.insert(A), attempts)
        if sent:
            connection.execute(_SENT, sent)
        for item in outcomes:
            if item.outcome != AttemptOutcome.SENT:
                ours = sa.and_(D.c.lease_owner == worker, D.c.status == DeliveryStatus.SENDING)
                state = outbox._next_state(item, settings, now)
                connection.execute(sa.update(D).where(D.c.id == item.claimed.id, ours).values(**state))
        bounces = [
            Bounce(o.claimed.subscriber_id, o.claimed.recipient, o.error or "refused")
            for o in outcomes
            if o.hard_bounce
        ]
        if bounces:
            count_bounces(connection, bounces, limit=settings.hard_bounce_limit)


def install() -> None:
    outbox.record = batched_record
