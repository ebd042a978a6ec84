"""Send one queued social post now, through the same claim -> channel -> record path a worker uses.

Safe beside any number of workers on other machines: the row is made due now (a hold is lifted) only
while it is pending or held, then claimed by its id with the outbox's usual lease (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, the write lock on SQLite). A row a worker has claimed is skipped, never waited
for and never sent a second time; the editor is told a worker is sending it. The account's posting plan
(spacing, quiet hours) is not consulted: posting now is the editor's decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from distro.app import App
from distro.dispatch import DispatchReport, dispatch_channel
from distro.errors import InvalidInput
from distro.models import DeliveryStatus, utcnow
from distro.services.activity import record
from distro.services.desk_clock import local_time
from distro.services.messages import MessageBuilder
from distro.services.social_queue import QueuedPost, queued_post
from distro.store import deliveries


class PostNowOutcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # the platform refused for now; the outbox tries again later
    FAILED = "failed"  # refused for good, or attempts exhausted
    BUSY = "busy"  # a worker holds the row: it sends it, not us


@dataclass(frozen=True, slots=True)
class PostNowResult:
    delivery_id: int
    outcome: PostNowOutcome
    message: str  # one sentence for the editor


def _when(app: App, value: datetime | None) -> str:
    return local_time(app.settings, value) if value else "later"


def _busy(app: App, post: QueuedPost) -> PostNowResult:
    until = f" (lease until {_when(app, post.lease_until)})" if post.lease_until else ""
    return PostNowResult(
        post.delivery_id,
        PostNowOutcome.BUSY,
        f"The {post.label} is being sent by a worker ({post.lease_owner})"
        f"{until}; nothing was sent from here.",
    )


def _result(app: App, delivery_id: int, report: DispatchReport) -> PostNowResult:
    post = queued_post(app, delivery_id)
    where = f"The {post.label}"
    if report.sent:
        return PostNowResult(delivery_id, PostNowOutcome.SENT, f"{where} was sent.")
    if report.permanent or report.suppressed:
        return PostNowResult(delivery_id, PostNowOutcome.FAILED, f"{where} failed: {post.last_error}.")
    if report.temporary:
        return PostNowResult(
            delivery_id,
            PostNowOutcome.RETRY if post.status == DeliveryStatus.PENDING else PostNowOutcome.FAILED,
            f"{where} was not sent: {post.last_error}. "
            + (
                f"It will be tried again at {_when(app, post.next_attempt_at)}."
                if post.status == DeliveryStatus.PENDING
                else "No more tries are left."
            ),
        )
    if post.status == DeliveryStatus.SENT:
        return PostNowResult(delivery_id, PostNowOutcome.BUSY, f"{where} was just sent by a worker.")
    if post.status == DeliveryStatus.SENDING:
        return _busy(app, post)
    return PostNowResult(delivery_id, PostNowOutcome.BUSY, f"{where} was not sent: it is {post.status}.")


def post_now(app: App, delivery_id: int, *, actor: str | None = None) -> PostNowResult:
    """Send delivery ``delivery_id`` now if nobody else is; ValueError when it is not a post that can go.
    With ``actor``, the attempt and its outcome are in the activity record."""
    post = queued_post(app, delivery_id)
    now = utcnow()
    if post.status == DeliveryStatus.SENDING and post.lease_until is not None and post.lease_until > now:
        return _busy(app, post)
    if post.status not in (DeliveryStatus.PENDING, DeliveryStatus.HELD, DeliveryStatus.SENDING):
        raise InvalidInput(f"delivery {delivery_id} is already {post.status}; only queued posts can go now")
    channel = app.channel_factory(post.channel)  # a ConfigError here changes nothing
    try:
        deliveries.make_due(app.engine, delivery_id, now)  # a row a worker took meanwhile is untouched
        report = dispatch_channel(
            engine=app.engine,
            channel=channel,
            build=MessageBuilder(app),
            settings=app.settings.dispatch,
            worker=f"desk:{app.worker_id}",
            only=[delivery_id],
        )
    finally:
        channel.close()
    result = _result(app, delivery_id, report)
    record(app, actor=actor, action="post.now", subject=f"post {delivery_id}", detail=str(result.outcome))
    return result
