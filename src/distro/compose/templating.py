"""The Jinja environment for email and social templates, and rendering that reports where it broke.

Templates are looked up in the site's own folder first (``settings.templates_dir``, which need not exist),
then in the templates distro ships (:func:`distro.packaged.templates_dir`), so a site overrides them file
by file: a copy of ``email/digest.mjml.j2`` in its folder replaces that one file, and every partial it
does not copy still comes from distro.

Every failure while rendering (a syntax error, an undefined name, a missing template, an exception inside
a filter) becomes a :class:`~distro.errors.RenderError` naming the template file, relative to the
templates folder it came from, and the line in that file, so an editor can open it and fix it.

Filters available to templates:

``date(value, zone, fmt=None)``
    An aware datetime shown in the IANA ``zone`` (e.g. ``digest.timezone``); default ``3 March 2025``.
``read_time(text, words_per_minute=230)``
    Whole minutes to read ``text`` (at least 1).
``wrap(text, width=72, indent="")``
    Plain-text paragraphs wrapped for the text/plain part; never breaks URLs or long words.
"""

from __future__ import annotations

import os
import textwrap
import traceback
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from distro import packaged
from distro.errors import RenderError

_AUTOESCAPED = (".mjml.j2", ".html.j2", ".mjml", ".html")
# Jinja names the code of templates created with from_string "<template>".
_STRING_TEMPLATE = "<template>"


def make_environment(site_dir: Path | None, packaged_dir: Path | None = None) -> jinja2.Environment:
    """The environment for every template: ``site_dir``'s file when it has one, else the packaged one.

    ``packaged_dir`` defaults to the templates distro ships; ``site_dir`` may be missing (a site that
    overrides nothing). Undefined names raise (``StrictUndefined``); HTML-like templates (``.mjml.j2``,
    ``.html.j2``) are autoescaped, text templates (``.txt.j2``) and string templates (the subject line)
    are not.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_roots(site_dir, packaged_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=_autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["date"] = format_date
    env.filters["read_time"] = read_time
    env.filters["wrap"] = wrap
    return env


def template_roots(site_dir: Path | None, packaged_dir: Path | None = None) -> list[str]:
    """The folders a template is looked up in, in order: the site's, then the packaged ones (once each).

    A site run from distro's own repository names the packaged folder itself; it is then searched once.
    """
    packaged_root = (packaged_dir or packaged.templates_dir()).resolve()
    roots = [site_dir.resolve()] if site_dir is not None else []
    return [str(root) for root in dict.fromkeys([*roots, packaged_root])]


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith(_AUTOESCAPED)


def format_date(value: datetime, zone: str, fmt: str | None = None) -> str:
    """``value`` (aware) in ``zone``; ``fmt`` is a strftime format, default like ``3 March 2025``."""
    if not isinstance(value, datetime):
        raise TypeError(f"date filter needs a datetime, got {type(value).__name__}")
    if value.tzinfo is None:
        raise ValueError("date filter needs an aware datetime (stored datetimes are UTC)")
    local = value.astimezone(ZoneInfo(zone))
    if fmt is None:
        return f"{local.day} {local:%B %Y}"
    return local.strftime(fmt)


def read_time(text: str, words_per_minute: int = 230) -> int:
    """Minutes to read ``text`` at an adult's reading speed, rounded, never below 1."""
    words = len(str(text).split())
    return max(1, round(words / words_per_minute))


def wrap(text: str, width: int = 72, indent: str = "") -> str:
    """Wrap each paragraph (blank-line separated) of ``text``; URLs and long words stay whole."""
    paragraphs = [p for p in str(text).replace("\r\n", "\n").split("\n\n") if p.strip()]
    wrapped = (
        textwrap.fill(
            " ".join(p.split()),
            width=width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
        for p in paragraphs
    )
    return "\n\n".join(wrapped)


def render(env: jinja2.Environment, name: str, context: Mapping[str, Any]) -> str:
    """Render the template ``name`` (e.g. ``"email/digest.mjml.j2"``) or raise :class:`RenderError`.

    A missing template is reported at the line that includes it (or as ``name`` itself, without a line).
    """
    try:
        return env.get_template(name).render(context)
    except RenderError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(exc.name or name, exc.lineno, exc.message or "syntax error") from exc
    except Exception as exc:
        template, line = _where(env, exc, name)
        raise RenderError(template, line, _reason(exc)) from exc


def render_string(env: jinja2.Environment, source: str, context: Mapping[str, Any], name: str) -> str:
    """Render a template given as text (e.g. ``settings.digest.subject``); ``name`` labels errors."""
    try:
        return env.from_string(source).render(context)
    except RenderError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(name, exc.lineno, exc.message or "syntax error") from exc
    except Exception as exc:
        template, line = _where(env, exc, name, string_name=name)
        raise RenderError(template, line, _reason(exc)) from exc


def _reason(exc: BaseException) -> str:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"template not found: {message}"
    if isinstance(exc, jinja2.TemplateError):
        return message
    return f"{type(exc).__name__}: {message}"


def _where(
    env: jinja2.Environment, exc: BaseException, name: str, *, string_name: str | None = None
) -> tuple[str, int | None]:
    """The innermost template frame of ``exc``'s traceback, as (file relative to the templates dir, line).

    Jinja rewrites tracebacks so template frames carry the template's file name and source line; the
    innermost one is where the error happened (a partial, when the failure is inside an include).
    """
    roots = [Path(p).resolve() for p in getattr(env.loader, "searchpath", [])]
    found: tuple[str, int | None] = (name, None)
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if string_name is not None and filename == _STRING_TEMPLATE:
            found = (string_name, lineno)
            continue
        relative = _relative_template(filename, roots)
        if relative is not None:
            found = (relative, lineno)
    return found


def _relative_template(filename: str, roots: list[Path]) -> str | None:
    if not filename or filename.startswith("<"):
        return None
    path = Path(filename).resolve()
    for root in roots:
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix().replace(os.sep, "/")
    return None
