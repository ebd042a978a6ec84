"""What the REST API lists, a keyset page at a time (:mod:`distro.store.api_pages`): the faces' other lists
(CLI, desk) read whole bounded lists, an API client walks any length with a cursor.

Each function returns at most ``limit`` rows with ids above ``after``, in id order; the face asks for one
more than it shows to know whether a next page exists.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from distro.app import App
from distro.errors import NotFound
from distro.models import Article, Digest, Suppression, utcnow
from distro.services.social_queue import QueuedPost, social_queue
from distro.services.subscribers import Listed, as_listed, normalise_email
from distro.store import api_pages
from distro.store import editions as stored_editions
from distro.store.delivery_log import LogFilter

HISTORY = 50  # deliveries shown with a subscriber


def articles(app: App, *, after: int, limit: int) -> list[Article]:
    return api_pages.articles(app.engine, after=after, limit=limit)


def article(app: App, article_id: int) -> Article:
    found = api_pages.article(app.engine, article_id)
    if found is None:
        raise NotFound(f"no article {article_id}")
    return found


def editions(
    app: App, *, after: int, limit: int, newsletter: str | None = None, status: str | None = None
) -> list[Digest]:
    return api_pages.editions(app.engine, after=after, limit=limit, newsletter=newsletter, status=status)


def subscribers(
    app: App,
    *,
    after: int,
    limit: int,
    status: str | None = None,
    address: str | None = None,
    paused: bool = False,
) -> list[Listed]:
    """Subscribers with their shown status (``bounced``/``suppressed`` when the address is on the list)."""
    rows = api_pages.subscribers(
        app.engine,
        after=after,
        limit=limit,
        status=status,
        address=address,
        paused_at=utcnow() if paused else None,
    )
    return as_listed(rows)


def subscriber(app: App, subscriber_id: int) -> Listed:
    found = subscribers(app, after=subscriber_id - 1, limit=1)
    if not found or found[0].id != subscriber_id:
        raise NotFound(f"no subscriber {subscriber_id}")
    return found[0]


def history(app: App, subscriber_id: int) -> list[Row[Any]]:
    """The subscriber's latest :data:`HISTORY` deliveries, newest first."""
    return api_pages.of_subscriber(app.engine, subscriber_id, most=HISTORY)


def suppressions(app: App, *, after: int, limit: int, reason: str | None = None) -> list[Suppression]:
    return api_pages.suppressed(app.engine, after=after, limit=limit, reason=reason)


def deliveries(app: App, wanted: LogFilter, *, after: int, limit: int) -> list[Row[Any]]:
    return api_pages.deliveries(app.engine, wanted, after=after, limit=limit)


def posts(app: App, *, after: int, limit: int, status: str | None = None) -> list[QueuedPost]:
    """The social queue as the desk shows it (waiting, held, in flight, failed lately), in delivery order."""
    queued = [post for account in social_queue(app) for post in account.posts]
    chosen = [p for p in queued if p.delivery_id > after and (status is None or p.status == status)]
    return sorted(chosen, key=lambda post: post.delivery_id)[:limit]


def article_at(app: App, url: str) -> Article:
    found = api_pages.article_at(app.engine, url)
    if found is None:
        raise NotFound(f"no article at {url}")
    return found


def edition(app: App, slug: str) -> Digest:
    found = stored_editions.find(app.engine, slug)
    if found is None:
        raise NotFound(f"no edition {slug!r}; GET /api/v1/editions lists them")
    return found


def subscriber_at(app: App, email: str) -> Listed:
    found = api_pages.subscriber_id_at(app.engine, normalise_email(email))
    if found is None:
        raise NotFound(f"no subscriber {email!r}")
    return subscriber(app, found)


def suppression_of(app: App, email: str) -> Suppression:
    found = api_pages.suppression_of(app.engine, normalise_email(email))
    if found is None:
        raise NotFound(f"{email} is not on the suppression list")
    return found
