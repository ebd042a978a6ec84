"""Web sign-up with double opt-in, the confirmation of sign-ups and address changes, and the
transactional emails they send (the change itself is asked for in :mod:`distro.services.address_change`).

A sign-up is a :class:`~distro.models.Signup` row until its confirmation link is clicked; nothing is
subscribed before that, so a form filled with someone else's address only ever sends that address one
confirmation. The confirmation and welcome emails go through the normal outbox: each is rendered whole into
a :class:`~distro.models.OneOffMessage` and queued as an ``email`` delivery with key ``msg:<id>``, which
:class:`~distro.services.messages.MessageBuilder` sends as stored. So they are logged, retried, suppressed
and DKIM-signed exactly like a digest.

A sign-up does the same work whatever the address (a sign-up row, one rendered email, one queued
delivery), so neither the page, nor how long it takes, nor the database tells the form's user whether an
address is subscribed: a new address gets the confirmation, a subscriber a note that they already are
(whose link applies the choices just made), and a suppressed address the confirmation, which the outbox
then refuses to send.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

from sqlmodel import Session

from distro.app import App
from distro.compose.mjml_strict import compile_mjml
from distro.compose.templating import render
from distro.db import session_scope
from distro.errors import Refused
from distro.models import Signup, Subscriber, SubscriberStatus, utcnow
from distro.outbox import enqueue_many
from distro.services.personal import preferences_url, unsubscribe_mailto, unsubscribe_url
from distro.services.subscribers import _clean_name, normalise_email
from distro.services.suppression import suppressed_among
from distro.store import articles, one_off, signups, subscribers, webhook_events
from distro.tokens import make_token, read_sealed

CONFIRM_SCOPE = "confirm"
WELCOME_STORIES = 3


class SignupError(Refused):
    """A confirmation link that is unknown, used, expired, or for an address now taken."""


@dataclass(frozen=True)
class SignupResult:
    """What happened, for the log and tests; the web page says the same thing whatever happened."""

    queued: bool
    reason: str


def _seal(signup: Signup) -> str:
    """What ties a confirmation link to its own sign-up, not just to its id: SQLite gives a deleted row's
    id to the next row, and a used or expired link must not confirm someone else's later sign-up."""
    return hashlib.sha256(f"{signup.email}\n{signup.created_at.isoformat()}".encode()).hexdigest()[:16]


def confirm_url(app: App, signup: Signup) -> str:
    token = make_token(app.signing_key, f"{CONFIRM_SCOPE}-{_seal(signup)}", signup.id or 0)
    return f"{app.settings.web.public_url.rstrip('/')}/confirm/{token}"


def clean_sections(app: App, sections: list[str] | None) -> list[str] | None:
    """Keep only configured sections (in the configured order); all or none chosen means every section."""
    known = app.settings.digest.sections
    chosen = {s.casefold() for s in sections or []}
    kept = [s for s in known if s.casefold() in chosen]
    return kept if kept and len(kept) < len(known) else None


def clean_newsletters(app: App, newsletters: list[str] | None) -> list[str] | None:
    """Keep only configured newsletters (by slug prefix, in configured order); None when none is named,
    which means "the newsletters everyone gets by default"."""
    chosen = {n.strip() for n in newsletters or []}
    kept = [n.slug_prefix for n in app.settings.all_newsletters if n.slug_prefix in chosen]
    return kept or None


def purge_expired(app: App) -> int:
    """Delete sign-ups nobody confirmed in time (they hold an address that never consented)."""
    return signups.purge_expired(app.engine)


def request_signup(
    app: App,
    email: str,
    name: str | None,
    sections: list[str] | None,
    newsletters: list[str] | None = None,
) -> SignupResult:
    """Store a pending sign-up and queue its email, the same work for any address (module docstring);
    ``InvalidSubscriber`` for a bad address."""
    address = normalise_email(email)
    purge_expired(app)
    blocked = suppressed_among(app.engine, [address])
    with session_scope(app.engine) as session:
        existing = subscribers.by_email(session, address)
        known = existing.id if existing is not None and existing.status == SubscriberStatus.ACTIVE else None
    chosen = clean_newsletters(app, newsletters)
    queued = _queue_confirmation(
        app, address, _clean_name(name), clean_sections(app, sections), None, chosen, already=known
    )
    if blocked:
        return SignupResult(False, "address is on the suppression list: the outbox will not send")
    return SignupResult(queued.queued, "already subscribed: note queued" if known else queued.reason)


def confirm(app: App, token: str) -> Subscriber:
    """Apply a confirmed sign-up or address change; InvalidToken or :class:`SignupError` otherwise."""
    signup_id, seal = read_sealed(app.signing_key, CONFIRM_SCOPE, token)
    expired = False
    with session_scope(app.engine) as session:  # commits the purge of an expired sign-up, then refuses
        signup = session.get(Signup, signup_id)
        if signup is None or not hmac.compare_digest(seal, _seal(signup)):
            raise SignupError("this confirmation link was already used or has expired; sign up again")
        expired = signup.expires_at < utcnow()
        if expired:
            session.delete(signup)
    if expired:
        raise SignupError("this confirmation link has expired; sign up again")
    with session_scope(app.engine) as session:
        signup = session.get(Signup, signup_id)
        if signup is None:  # confirmed by a concurrent click
            raise SignupError("this confirmation link was already used or has expired; sign up again")
        subscriber, welcome = _apply(session, signup)
        session.delete(signup)
        session.flush()
        session.refresh(subscriber)
        session.expunge(subscriber)
    if welcome:
        _queue_welcome(app, subscriber)
    return subscriber


def _apply(session: Session, signup: Signup) -> tuple[Subscriber, bool]:
    """The subscriber after the confirmation, and whether it is a (re)new subscription (-> welcome)."""
    if signup.subscriber_id is not None:
        return _apply_change(session, signup, signup.subscriber_id), False
    subscriber = subscribers.by_email(session, signup.email)
    renewed = subscriber is None or subscriber.status != SubscriberStatus.ACTIVE
    if subscriber is None:
        subscriber = Subscriber(email=signup.email)
    if renewed:  # an active subscriber's pause stays: the link only applies the choices of the form
        subscribers.set_status(subscriber, SubscriberStatus.ACTIVE)
        subscriber.unsubscribed_at = subscriber.paused_until = None
    subscriber.name, subscriber.sections = signup.name or subscriber.name, signup.sections
    if signup.newsletters is not None:
        subscriber.newsletters = signup.newsletters
    if subscriber.id is None:  # a new reader: outgoing webhooks hear of it in this transaction
        webhook_events.subscriber_event(session, "subscriber.created", subscriber)
    session.add(subscriber)
    return subscriber, renewed


def _apply_change(session: Session, signup: Signup, subscriber_id: int) -> Subscriber:
    """Move a subscription to the confirmed new address, if its current address approved the move; the
    subscription's other pending changes go (they were approved from an address it no longer has)."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise SignupError("this subscription no longer exists")
    if signup.approved_at is None:  # never linked to before approval; refused all the same
        raise SignupError("this address change was not approved from the subscription's current address")
    if subscribers.by_email(session, signup.email) is not None:
        raise SignupError(f"{signup.email} already belongs to a subscriber")
    subscriber.email = signup.email
    session.add(subscriber)
    signups.drop_other_changes(session, subscriber_id, keep=signup.id)
    return subscriber


def _queue_confirmation(
    app: App,
    address: str,
    name: str | None,
    sections: list[str] | None,
    subscriber_id: int | None,
    newsletters: list[str] | None = None,
    *,
    already: int | None = None,
) -> SignupResult:
    """Store the sign-up and queue its email: the confirmation, or, with ``already`` (the id of the active
    subscriber who has this address), the note that says so; the same rows and rendering either way."""
    expires = utcnow() + timedelta(hours=app.settings.web.confirm_expiry_hours)
    signup = Signup(
        email=address,
        name=name,
        sections=sections,
        newsletters=newsletters,
        subscriber_id=subscriber_id,
        expires_at=expires,
    )
    link = confirm_url(app, signups.add(app.engine, signup))
    context: dict[str, Any] = {"confirm_url": link, "name": name, "change": subscriber_id is not None}
    context["expiry_hours"] = app.settings.web.confirm_expiry_hours
    context["preferences_url"] = preferences_url(app, already) if already is not None else None
    publication = app.settings.publication.name
    subject = f"Confirm your subscription to {publication}"
    if subscriber_id is not None:
        subject = f"Confirm your new address for {publication}"
    elif already is not None:
        subject = f"You are already subscribed to {publication}"
    data = build_email(app, "confirm", address, subject, context)
    queue_one_off(app, address, data, subscriber_id=already)
    return SignupResult(True, "confirmation queued")


def _queue_welcome(app: App, subscriber: Subscriber) -> None:
    stories = [
        {"title": a.title, "url": a.url, "summary": a.summary}
        for a in articles.latest_edition(app.engine, WELCOME_STORIES)
    ]
    sid = subscriber.id or 0
    context = {
        "name": subscriber.name,
        "stories": stories,
        "unsubscribe_url": unsubscribe_url(app, sid),
        "preferences_url": preferences_url(app, sid),
    }
    subject = f"Welcome to {app.settings.publication.name}"
    data = build_email(app, "welcome", subscriber.email, subject, context, list_subscriber_id=sid)
    queue_one_off(app, subscriber.email, data, subscriber_id=sid)


def queue_one_off(app: App, recipient: str, data: bytes, *, subscriber_id: int | None) -> int:
    """Store a rendered message and queue it as an email delivery (key ``msg:<id>``); return the id."""
    message_id = one_off.add(app.engine, recipient, data)
    row = {"key": f"msg:{message_id}", "channel": "email", "recipient": recipient}
    enqueue_many(app.engine, [{**row, "subscriber_id": subscriber_id}])
    return message_id


def build_email(
    app: App,
    template: str,
    recipient: str,
    subject: str,
    context: dict[str, Any],
    *,
    list_subscriber_id: int | None = None,
) -> bytes:
    """Render ``email/<template>.mjml.j2`` and ``.txt.j2`` into one ASCII multipart/alternative message.

    With ``list_subscriber_id`` the message carries the RFC 8058 List-Unsubscribe headers (it is list
    mail); a confirmation does not (the reader is not on the list yet).
    """
    settings = app.settings
    full = {"publication": settings.publication, "subject": subject, **context}
    text = render(app.templates, f"email/{template}.txt.j2", full)
    name = f"email/{template}.mjml.j2"
    html = compile_mjml(render(app.templates, name, full), name)
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(display_name=settings.email.from_name, addr_spec=settings.email.from_address)
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow().replace(microsecond=0))
    domain = settings.email.from_address.rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{template}.{secrets.token_hex(12)}@{domain}>"
    if settings.email.reply_to:
        message["Reply-To"] = settings.email.reply_to
    if list_subscriber_id is not None:
        mailto = unsubscribe_mailto(app, list_subscriber_id)
        links = f"<{unsubscribe_url(app, list_subscriber_id)}>" + (f", <{mailto}>" if mailto else "")
        message["List-Unsubscribe"] = links
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message.as_bytes(policy=SMTP)
