"""Moving a subscription to another address: approved from the current address, then confirmed by the new.

A preferences link travels: a forwarded digest carries it, so holding it proves nothing about who owns the
subscription. A move therefore takes two clicks, in two inboxes:

1. :func:`request_change` (the preferences page) stores the change and mails an approval link to the
   subscription's *current* address, and only there. Nothing goes to the new address yet, so a stranger
   with a forwarded link can neither move the subscription nor make us mail an address of their choosing;
   and nothing about the new address is looked up, so the page (and its timing) is the same whether that
   address belongs to a subscriber or not.
2. :func:`approve` (a button on the page behind that link; a GET changes nothing, since mail scanners follow
   links) sends the new address its confirmation link, or, when the new address already belongs to a
   subscriber, a note saying nothing changed (the same work and the same page either way).
3. :func:`distro.services.signup.confirm` moves the subscription when the new address clicks its link.
   Until then the digest keeps going to the current address, and :func:`cancel` drops the change.

A reader who lost the old mailbox cannot move the subscription: they sign up with the new address (the old
one stops once it bounces).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from distro.app import App
from distro.db import session_scope
from distro.errors import DistroError
from distro.models import Signup, Subscriber, utcnow
from distro.services.signup import (
    SignupError,
    _seal,
    build_email,
    confirm_url,
    purge_expired,
    queue_one_off,
)
from distro.services.subscribers import normalise_email
from distro.store import subscribers
from distro.tokens import make_token, read_sealed, read_token

APPROVE_SCOPE = "approve"
FORM_SCOPE = f"form-{APPROVE_SCOPE}"
USED = "this link was already used or has expired; ask for the change again on your preferences page"


@dataclass(frozen=True)
class PendingChange:
    """What the approval page shows: the move asked for, and the token its form must carry."""

    signup_id: int
    current: str
    new: str
    approved: bool
    csrf: str


def approve_url(app: App, signup: Signup) -> str:
    token = make_token(app.signing_key, f"{APPROVE_SCOPE}-{_seal(signup)}", signup.id or 0)
    return f"{app.settings.web.public_url.rstrip('/')}/change-address/{token}"


def request_change(app: App, subscriber_id: int, new_email: str) -> str:
    """Store the change and queue the approval email to the current address; return that address.

    ``InvalidSubscriber`` for a bad new address, :class:`SignupError` for a subscription that is gone.
    """
    address = normalise_email(new_email)
    purge_expired(app)
    expires = utcnow() + timedelta(hours=app.settings.web.confirm_expiry_hours)
    with session_scope(app.engine) as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None:
            raise SignupError("this subscription no longer exists")
        current = subscriber.email
        signup = Signup(email=address, subscriber_id=subscriber_id, expires_at=expires)
        session.add(signup)
        session.flush()
        link = approve_url(app, signup)
    context = {
        "approve_url": link,
        "new_email": address,
        "expiry_hours": app.settings.web.confirm_expiry_hours,
    }
    subject = f"Approve moving your {app.settings.publication.name} subscription"
    data = build_email(app, "change_approve", current, subject, context)
    queue_one_off(app, current, data, subscriber_id=subscriber_id)
    return current


def _pending(session: Session, app: App, token: str) -> tuple[Signup, Subscriber]:
    """The change an approval link names, still pending; InvalidToken or :class:`SignupError`."""
    signup_id, seal = read_sealed(app.signing_key, APPROVE_SCOPE, token)
    signup = session.get(Signup, signup_id)
    if signup is None or signup.subscriber_id is None or not hmac.compare_digest(seal, _seal(signup)):
        raise SignupError(USED)
    if signup.expires_at < utcnow():
        raise SignupError("this link has expired; ask for the change again on your preferences page")
    subscriber = session.get(Subscriber, signup.subscriber_id)
    if subscriber is None:
        raise SignupError("this subscription no longer exists")
    return signup, subscriber


def pending_change(app: App, token: str) -> PendingChange:
    """The change behind an approval link, for its page (changes nothing)."""
    with session_scope(app.engine) as session:
        signup, subscriber = _pending(session, app, token)
        csrf = make_token(app.signing_key, FORM_SCOPE, signup.id or 0)
        return PendingChange(
            signup.id or 0, subscriber.email, signup.email, signup.approved_at is not None, csrf
        )


def form_ok(app: App, change: PendingChange, csrf: str) -> bool:
    try:
        return read_token(app.signing_key, FORM_SCOPE, csrf) == change.signup_id
    except DistroError:
        return False


def approve(app: App, token: str) -> PendingChange:
    """The current address approved: queue the new address's confirmation (or, if it already belongs to a
    subscriber, the note that nothing changed). Approving again queues nothing more."""
    with session_scope(app.engine) as session:
        signup, subscriber = _pending(session, app, token)
        change = PendingChange(signup.id or 0, subscriber.email, signup.email, True, "")
        if signup.approved_at is not None:
            return change
        taken = subscribers.by_email(session, signup.email) is not None
        now = utcnow()
        signup.approved_at = now
        signup.expires_at = now + timedelta(hours=app.settings.web.confirm_expiry_hours)
        session.add(signup)
        session.flush()
        link = confirm_url(app, signup)
    publication = app.settings.publication.name
    context = {"confirm_url": link, "change": True, "preferences_url": None, "name": None}
    context["expiry_hours"] = app.settings.web.confirm_expiry_hours
    template, subject = "confirm", f"Confirm your new address for {publication}"
    if taken:  # no link to this address: it already has a subscription of its own
        template, subject = "change_taken", f"Your address and {publication}"
    data = build_email(app, template, change.new, subject, context)
    queue_one_off(app, change.new, data, subscriber_id=None)
    return change


def cancel(app: App, token: str) -> PendingChange:
    """Drop the change (from the approval page); the subscription stays where it is."""
    with session_scope(app.engine) as session:
        signup, subscriber = _pending(session, app, token)
        change = PendingChange(signup.id or 0, subscriber.email, signup.email, False, "")
        session.delete(signup)
        return change
