"""What the desk's digest page shows of a newsletter's upcoming edition, and how its edit form maps to
:class:`~distro.services.digest_edit.EditChanges`.

The upcoming edition is :func:`~distro.services.digest_calendar.upcoming_at`'s: the one the newsletter's next
scheduled run sends (or this period's, while it is composed and not queued). Opening it composes it (as
``distro digest preview`` does); at its time the scheduler composes it again with the stories that arrived
since, the editor's choices kept. Sent now or scheduled by hand, it goes out exactly as previewed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from distro.app import App
from distro.compose.digest import Edition
from distro.errors import DistroError
from distro.models import Article, Digest, DigestEdit, DigestStatus, utcnow
from distro.services.digest_calendar import digest_slug, digest_trigger, upcoming_at
from distro.services.digest_compose import edition_of, open_edition, window_articles
from distro.services.digest_edit import EditChanges
from distro.services.digest_send import count_recipients
from distro.settings import DigestSettings
from distro.store import editions


@dataclass(frozen=True, slots=True)
class UpcomingEdition:
    """A newsletter's upcoming edition as composed now (``digest`` None when there is nothing to send)."""

    newsletter: DigestSettings
    at: datetime  # a time inside the edition's period (its slug and date come from it)
    slug: str
    digest: Digest | None
    reason: str  # why there is no digest, or why it was not (re)composed
    warning: str | None  # e.g. over Gmail's clip size
    edit: DigestEdit | None
    edition: Edition  # the edit's choices with the settings' defaults filled in
    articles: list[Article]  # the window's articles, newest first: what the editor may pin or exclude
    recipients: int
    cron_at: datetime | None  # the newsletter's next cron time (UTC)
    cron_slug: str | None  # the edition the cron job sends then

    @property
    def status(self) -> str:
        return self.digest.status if self.digest is not None else "nothing to send"

    @property
    def queued(self) -> bool:
        return self.digest is not None and self.digest.status != DigestStatus.COMPOSED

    @property
    def send_at(self) -> datetime | None:
        """The hand-set time, if the editor scheduled this edition."""
        return self.edit.send_at if self.edit is not None else None

    @property
    def goes_out_at(self) -> datetime | None:
        return self.send_at or self.cron_at

    @property
    def max_stories(self) -> int:
        return self.edition.max_stories or self.newsletter.max_stories


def upcoming_edition(app: App, newsletter: DigestSettings, now: datetime | None = None) -> UpcomingEdition:
    """Compose (or load) the upcoming edition of ``newsletter`` and gather what the page shows."""
    now = now or utcnow()
    at = upcoming_at(app, newsletter, now)
    slug = digest_slug(newsletter, at)
    result = open_edition(app, newsletter, now, at=at)
    edit = editions.load_edit(app.engine, slug)
    end = result.digest.window_end if result.digest is not None else now
    window_days = edit.window_days if edit else None
    _, articles = window_articles(app, newsletter, end, window_days=window_days, before_slug=slug)
    fire = digest_trigger(app, newsletter.slug_prefix).get_next_fire_time(None, now)
    cron_at = fire.astimezone(UTC) if fire is not None else None
    return UpcomingEdition(
        newsletter=newsletter,
        at=at,
        slug=slug,
        digest=result.digest,
        reason=result.reason,
        warning=result.warning,
        edit=edit,
        edition=edition_of(newsletter, edit),
        articles=articles,
        recipients=count_recipients(app, newsletter),
        cron_at=cron_at,
        cron_slug=digest_slug(newsletter, cron_at) if cron_at is not None else None,
    )


def changes_from_form(
    view: UpcomingEdition, *, intro: str, lead: str, excluded: list[str], max_stories: str
) -> EditChanges:
    """The edit form's fields as changes to the stored edit: only what differs from it.

    Exclusions are computed over the articles the form showed: a checked box that was not excluded is
    excluded, an unchecked one that was is put back; exclusions outside the window stay as they are.
    """
    shown = {a.id for a in view.articles if a.id is not None}
    try:
        chosen = {int(value) for value in excluded}
        pin = int(lead) if lead else None
        limit = int(max_stories) if max_stories else None
    except ValueError:
        raise DistroError("the form sent something that is not an article id or a number") from None
    if not chosen <= shown or (pin is not None and pin not in shown):
        raise DistroError("an article on the form is no longer in this edition's window; reload the page")
    if pin is not None and pin in chosen:
        raise DistroError("the lead story cannot also be excluded")
    if limit is not None and limit < 1:
        raise DistroError("max stories must be at least 1")
    stored = set(view.edition.excluded_article_ids)
    intro = intro.replace("\r\n", "\n").replace("\r", "\n")
    return EditChanges(
        intro=intro if intro != view.edition.intro else None,
        pin=pin if pin is not None and pin != view.edition.pinned_article_id else None,
        unpin=pin is None and view.edition.pinned_article_id is not None,
        exclude=tuple(sorted(chosen - stored)),
        include=tuple(sorted((stored & shown) - chosen)),
        max_stories=limit if limit is not None and limit != view.max_stories else None,
    )
