"""The exact bytes a reader would get of an edition, for ``distro digest preview`` and the desk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from distro.app import App
from distro.compose.digest import size_warning
from distro.compose.message import Personal, fill_preview
from distro.errors import NotFound
from distro.models import Digest
from distro.services.digest_variants import reader_copy
from distro.services.personal import personal_for
from distro.settings import DigestSettings
from distro.store.recipients import reader


@dataclass(frozen=True, slots=True)
class PreviewPage:
    """The exact bytes a subscriber would read: what ``digest preview`` writes and a web route serves."""

    html: bytes
    text: bytes
    personal: Personal
    warning: str | None


def render_preview(
    app: App, newsletter: DigestSettings, digest: Digest, *, email: str | None = None
) -> PreviewPage:
    """The edition as ``email`` (or an example reader) gets it: their section variant, name and links.

    NotFound when ``email`` is not a subscriber, so a typo does not preview someone else's copy.
    """
    subscriber = reader(app.engine, email) if email else None
    if email and subscriber is None:
        raise NotFound(f"no subscriber {email!r}; check the address or leave out --subscriber")
    sections = subscriber.sections if subscriber is not None else None
    html, text = reader_copy(app, newsletter, digest, sections)
    personal = personal_for(
        app,
        digest_slug=digest.slug,
        subscriber_id=subscriber.id or 0 if subscriber else 0,
        email=subscriber.email if subscriber else "preview@example.org",
        name=subscriber.name if subscriber else None,
        delivery_id=0,
        newsletter=digest.newsletter,
    )
    page_html = fill_preview(html, personal).encode("utf-8")
    warning = size_warning(len(html.encode("utf-8")), newsletter.max_html_bytes)
    return PreviewPage(page_html, fill_preview(text, personal).encode("utf-8"), personal, warning)


def preview(
    app: App, newsletter: DigestSettings, digest: Digest, *, email: str | None = None
) -> tuple[Path, Path, Personal]:
    """Write the exact HTML and text a subscriber would get to ``var/preview/``; return their paths."""
    page = render_preview(app, newsletter, digest, email=email)
    target = app.settings.var_dir / "preview"
    target.mkdir(parents=True, exist_ok=True)
    html_path, text_path = target / f"{digest.slug}.html", target / f"{digest.slug}.txt"
    html_path.write_bytes(page.html)
    text_path.write_bytes(page.text)
    return html_path, text_path, page.personal
