"""Reading the delivery log (the outbox writes it, :mod:`distro.outbox`): a reader's deliveries and their
attempts, the rows behind the desk's log and chart, and counts by channel and status.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session, col, select

from distro.models import Delivery, DeliveryAttempt


def of_reader(session: Session, address: str, subscriber_id: int | None) -> Sequence[Delivery]:
    """Deliveries to ``address`` (any case) or, with a subscriber, to that subscriber; in id order."""
    mine = sa.func.lower(col(Delivery.recipient)) == address.lower()
    if subscriber_id is not None:
        mine = sa.or_(mine, col(Delivery.subscriber_id) == subscriber_id)
    return session.exec(select(Delivery).where(mine).order_by(col(Delivery.id))).all()


def attempts_of(session: Session, delivery_ids: Sequence[int]) -> Sequence[DeliveryAttempt]:
    query = select(DeliveryAttempt).where(col(DeliveryAttempt.delivery_id).in_(list(delivery_ids)))
    return session.exec(query.order_by(col(DeliveryAttempt.id))).all()
