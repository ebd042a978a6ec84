"""Every kind of email distro sends, as wire bytes, for tests that judge them all (SpamAssassin, axe-core).

:func:`every_email` ingests the example feed into ``app`` and returns the weekly digest, the brief, the
empty-week note, the test copy, the confirmation and the welcome email, each personalised for one reader
exactly as the outbox would send it (unsigned: DKIM is checked apart). Call it under a pinned clock.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlmodel import select

from distro.app import App
from distro.compose.digest import compose_digest, compose_empty
from distro.compose.message import Personal, PreparedMessage, build_message_template
from distro.db import session_scope
from distro.models import Article, Signup, utcnow
from distro.services.ingest import ingest
from distro.services.messages import TEST_SUBJECT_PREFIX
from distro.services.signup import confirm, confirm_url, request_signup
from distro.store import one_off

READER = "amira.quill@example.org"
PERSONAL = Personal(
    email=READER,
    name="Amira Quill",
    unsubscribe_url="https://news.meridian-review.example/unsubscribe/AbC123",
    unsubscribe_mailto="mailto:unsubscribe@meridian-review.example?subject=unsubscribe%20AbC123",
    message_id="<weekly-2026-W48.1@meridian-review.example>",
    date="Mon, 23 Nov 2026 07:00:00 +0000",
    preferences_url="https://news.meridian-review.example/preferences/AbC123",
)
KINDS = ("weekly", "brief", "empty", "test", "confirm", "welcome")


def every_email(app: App) -> dict[str, bytes]:
    """Each of :data:`KINDS` as the reader receives it."""
    settings = app.settings
    settings.web.public_url = "https://news.meridian-review.example"
    ingest(app)
    with session_scope(app.engine) as session:
        articles = list(session.exec(select(Article)).all())
        session.expunge_all()
    now, slug = utcnow(), "weekly-2026-W48"
    common = {"settings": settings, "env": app.templates, "slug": slug, "now": now}
    weekly = compose_digest(newsletter=settings.digest, articles=articles, **common)  # type: ignore[arg-type]
    brief_settings = settings.digest.model_copy(update={"template": "brief"})
    brief = compose_digest(newsletter=brief_settings, articles=articles, **common)  # type: ignore[arg-type]
    empty = compose_empty(newsletter=settings.digest, **common)  # type: ignore[arg-type]
    test = build_message_template(
        settings=settings, slug=slug, subject=TEST_SUBJECT_PREFIX + weekly.subject, html=weekly.html,
        text=weekly.text,
    )  # fmt: skip
    found = {
        kind: PreparedMessage.from_template(template).render(PERSONAL)
        for kind, template in (
            ("weekly", weekly.message_template),
            ("brief", brief.message_template),
            ("empty", empty.message_template),
            ("test", test),
        )
    }
    request_signup(app, READER, "Amira Quill", None)
    found["confirm"] = _one_off(app)
    with session_scope(app.engine) as session:
        signup = session.exec(select(Signup)).one()
        token = confirm_url(app, signup).rsplit("/", 1)[1]
    confirm(app, token)
    found["welcome"] = _one_off(app)
    return found


def _one_off(app: App) -> bytes:
    """The reader's latest stored one-off message (confirmation, welcome), then forgets them all."""
    with session_scope(app.engine) as session:
        data = one_off.for_recipient(session, READER)[-1].data.encode("ascii")
        one_off.delete_for(session, READER)
    return data


def html_part(raw: bytes) -> str:
    """The decoded text/html part of a message."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]
