"""A subscriber's own choices, reached through signed links: unsubscribe, re-subscribe, sections, pause.

Unsubscribing is effective at once: the digest queue skips non-active subscribers and a row already queued
becomes ``suppressed`` at send (:class:`~distro.services.messages.MessageBuilder` checks the status).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from distro.app import App
from distro.errors import InvalidInput, NotFound
from distro.models import Subscriber, SubscriberStatus, utcnow
from distro.services.signup import clean_newsletters, clean_sections
from distro.services.subscribers import receiving
from distro.store import editions, subscribers, unsubscribe_events


class UnknownSubscriber(NotFound):
    """A validly signed link for a subscriber who no longer exists (forgotten)."""


def get_subscriber(app: App, subscriber_id: int) -> Subscriber:
    subscriber = subscribers.get(app.engine, subscriber_id)
    if subscriber is None:
        raise UnknownSubscriber("this subscription no longer exists")
    return subscriber


def _change(app: App, subscriber_id: int, edit: Callable[[Subscriber], object]) -> Subscriber:
    """Apply ``edit`` to the subscriber in one transaction; :class:`UnknownSubscriber` if they are gone."""
    subscriber = subscribers.change(app.engine, subscriber_id, edit)
    if subscriber is None:
        raise UnknownSubscriber("this subscription no longer exists")
    return subscriber


def set_status(
    app: App, subscriber_id: int, *, active: bool, edition: str | None = None, via: str = "page"
) -> Subscriber:
    """Unsubscribe (``active=False``) or re-subscribe; idempotent, so a repeated click changes nothing.
    ``edition``: the slug the unsubscribe link carried; a reader who really left is counted for it."""
    wanted = SubscriberStatus.ACTIVE if active else SubscriberStatus.UNSUBSCRIBED
    changed: list[bool] = []
    subscriber = _change(app, subscriber_id, lambda s: changed.append(subscribers.set_status(s, wanted)))
    if not active and any(changed):
        _count_unsubscribe(app, edition, None, via)
    return subscriber


def leave_newsletter(
    app: App, subscriber_id: int, newsletter: str, *, edition: str | None = None, via: str = "page"
) -> Subscriber:
    """Stop one newsletter (a per-list unsubscribe); when it was the reader's last, or is not configured,
    unsubscribe from everything, which is never less than what was asked."""
    gets = [n.slug_prefix for n in receiving(app.settings, get_subscriber(app, subscriber_id))]
    remaining = [prefix for prefix in gets if prefix != newsletter]
    known = any(n.slug_prefix == newsletter for n in app.settings.all_newsletters)
    if not known or not remaining:
        return set_status(app, subscriber_id, active=False, edition=edition, via=via)

    def keep(subscriber: Subscriber) -> None:
        subscriber.newsletters = remaining

    left = _change(app, subscriber_id, keep)
    if newsletter in gets:
        _count_unsubscribe(app, edition, newsletter, via)
    return left


def _count_unsubscribe(app: App, edition: str | None, newsletter: str | None, via: str) -> None:
    """One more reader who left through ``edition``'s link (only a real edition: the parameter is not
    signed, so a made-up slug is not counted)."""
    if edition and len(edition) <= 100 and editions.status_of(app.engine, edition) is not None:
        unsubscribe_events.record(app.engine, edition=edition, newsletter=newsletter, via=via, at=utcnow())


def set_preferences(
    app: App,
    subscriber_id: int,
    *,
    sections: list[str] | None,
    pause_weeks: int | None,
    newsletters: list[str] | None = None,
) -> Subscriber:
    """Store the chosen sections, pause (0 ends a pause, None keeps it) and, when given, newsletters;
    InvalidInput names a pause out of range or a choice of no newsletter (unsubscribing is for that)."""
    limit = app.settings.web.max_pause_weeks
    if pause_weeks is not None and not 0 <= pause_weeks <= limit:
        raise InvalidInput(f"pause must be between 0 and {limit} weeks")
    chosen = clean_newsletters(app, newsletters) if newsletters is not None else None
    if newsletters is not None and chosen is None:
        raise InvalidInput("choose at least one newsletter, or unsubscribe to receive none")
    kept_sections = clean_sections(app, sections)

    def choose(subscriber: Subscriber) -> None:
        subscriber.sections = kept_sections
        if chosen is not None:
            subscriber.newsletters = chosen
        if pause_weeks is not None:  # None keeps a pause as it is
            subscriber.paused_until = utcnow() + timedelta(weeks=pause_weeks) if pause_weeks else None

    return _change(app, subscriber_id, choose)
