"""Section variants: readers who chose sections get the edition composed once per distinct choice.

Variants are composed when the edition is queued (or previewed as such a reader), from the edition's own
stories and edit, so personalising stays byte substitution;
:class:`~distro.services.messages.MessageBuilder` picks one per message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from distro.app import App
from distro.compose.digest import Edition, compose_digest
from distro.models import Article, Digest, DigestVariant
from distro.services.digest_compose import check_personalises, edition_of
from distro.services.tracking import EditionLinks, edition_tracker
from distro.settings import DigestSettings
from distro.store import editions

log = logging.getLogger(__name__)


def sections_key(sections: Iterable[str] | None) -> str:
    """The variant a subscriber gets: "" for every section, else their sections, casefolded and sorted."""
    chosen = sorted({s.strip().casefold() for s in sections or () if s.strip()})
    return "|".join(chosen)


def compose_variants(app: App, newsletter: DigestSettings, digest: Digest, keys: Iterable[str]) -> int:
    """Compose and store the variant of ``digest`` for each section choice in ``keys`` that lacks one.

    A choice that matches none of the digest's stories gets no variant: those readers get the full digest
    rather than an empty email. Returns how many variants were added.
    """
    have = editions.variant_keys(app.engine, digest.id or 0)
    wanted = sorted(k for k in set(keys) if k and k not in have)
    if not wanted or not digest.article_ids:
        return 0
    articles = editions.articles(app.engine, digest.article_ids)
    chosen = edition_of(newsletter, editions.load_edit(app.engine, digest.slug))
    edition = Edition(
        intro=chosen.intro, pinned_article_id=chosen.pinned_article_id, sections=chosen.sections
    )
    tracker = edition_tracker(app, digest.slug, numbering=False)  # the edition's links, numbered already
    added = [v for key in wanted if (v := _variant(app, newsletter, digest, articles, edition, key, tracker))]
    editions.add_variants(app.engine, added)
    return len(added)


def _variant(
    app: App,
    newsletter: DigestSettings,
    digest: Digest,
    articles: list[Article],
    edition: Edition,
    key: str,
    tracker: EditionLinks | None,
) -> DigestVariant | None:
    """The variant of ``digest`` for the sections ``key``, checked; None when none of its stories is in
    them."""
    try:
        composed = compose_digest(
            settings=app.settings,
            newsletter=newsletter,
            env=app.templates,
            slug=digest.slug,
            articles=articles,
            now=digest.window_end,
            edition=edition,
            only_sections=key.split("|"),
            tracker=tracker,
        )
    except ValueError:
        log.info("digest %s: no story in sections %r; they get the full digest", digest.slug, key)
        return None
    check_personalises(app, composed, digest.slug)
    return DigestVariant(
        digest_id=digest.id or 0,
        sections_key=key,
        html=composed.html,
        text=composed.text,
        message_template=composed.message_template,
    )


def reader_copy(
    app: App, newsletter: DigestSettings, digest: Digest, sections: Iterable[str] | None
) -> tuple[str, str]:
    """The HTML and text (slots unfilled) a reader who chose ``sections`` gets: their variant, composed
    now if it is missing, else the full edition."""
    key = sections_key(sections)
    if not key:
        return digest.html, digest.text
    compose_variants(app, newsletter, digest, [key])
    found = editions.variant(app.engine, digest.id or 0, key)
    return (found.html, found.text) if found is not None else (digest.html, digest.text)
