"""MJML compiled strictly: what mjml-python tolerates (an unknown or misspelt tag, a tag in the wrong
place, an attribute MJML does not know) is a :class:`~distro.errors.RenderError` here, before anything is
sent, because the compiler would otherwise drop or mangle that part of the email without a word.

The rules are those of MJML's own ``validationLevel: "strict"``: each ``mj-*`` element is known, sits in a
parent MJML allows, carries only MJML attributes, and is closed. The markup inside ``mj-text``,
``mj-button``, ``mj-raw`` and ``mj-table`` is the template's own HTML and is not checked.
"""

from __future__ import annotations

from html.parser import HTMLParser

import mjml

from distro.errors import RenderError

_BODY_BLOCKS = frozenset(
    {"mj-text", "mj-button", "mj-image", "mj-divider", "mj-spacer", "mj-table", "mj-social", "mj-raw",
     "mj-navbar", "mj-accordion", "mj-carousel"}
)  # fmt: skip
_PARENTS: dict[str, frozenset[str]] = {
    "mj-head": frozenset({"mjml"}),
    "mj-body": frozenset({"mjml"}),
    "mj-title": frozenset({"mj-head"}),
    "mj-preview": frozenset({"mj-head"}),
    "mj-style": frozenset({"mj-head"}),
    "mj-font": frozenset({"mj-head"}),
    "mj-breakpoint": frozenset({"mj-head"}),
    "mj-attributes": frozenset({"mj-head"}),
    "mj-html-attributes": frozenset({"mj-head"}),
    "mj-all": frozenset({"mj-attributes"}),
    "mj-class": frozenset({"mj-attributes"}),
    "mj-wrapper": frozenset({"mj-body"}),
    "mj-section": frozenset({"mj-body", "mj-wrapper"}),
    "mj-hero": frozenset({"mj-body", "mj-wrapper"}),
    "mj-group": frozenset({"mj-section"}),
    "mj-column": frozenset({"mj-section", "mj-group"}),
    "mj-social-element": frozenset({"mj-social"}),
    "mj-navbar-link": frozenset({"mj-navbar"}),
    "mj-accordion-element": frozenset({"mj-accordion"}),
    "mj-accordion-title": frozenset({"mj-accordion-element"}),
    "mj-accordion-text": frozenset({"mj-accordion-element"}),
    "mj-carousel-image": frozenset({"mj-carousel"}),
    **{name: frozenset({"mj-column", "mj-hero"}) for name in _BODY_BLOCKS},
    "mj-raw": frozenset({"mj-head", "mj-body", "mj-wrapper", "mj-section", "mj-column", "mj-hero"}),
}
_RAW_CONTENT = frozenset(
    {"mj-text", "mj-button", "mj-raw", "mj-table", "mj-style", "mj-title", "mj-preview", "mj-navbar-link",
     "mj-social-element", "mj-accordion-title", "mj-accordion-text"}
)  # fmt: skip
_ATTRIBUTES = frozenset(
    """align alt background-color background-position background-position-x background-position-y
    background-repeat background-size background-url border border-bottom border-color border-left
    border-radius border-right border-style border-top border-width color container-background-color
    css-class dir direction font-family font-size font-style font-weight full-width fluid-on-mobile
    height href icon-align icon-height icon-padding icon-position icon-size icon-width
    inner-background-color
    inner-border inner-border-bottom inner-border-left inner-border-radius inner-border-right
    inner-border-top inner-padding lang letter-spacing line-height mj-class mode name owa padding
    padding-bottom padding-left padding-right padding-top rel sizes src srcset target text-align
    text-decoration text-transform title usemap vertical-align width cellpadding cellspacing table-layout
    role inline path value text-padding mj-class""".split()  # noqa: SIM905
)


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problem: str | None = None

    def _where(self) -> str:
        return f"line {self.getpos()[0]}"

    def _fail(self, reason: str) -> None:
        self.problem = self.problem or f"{reason} ({self._where()})"

    def _inside_raw(self) -> bool:
        return any(tag in _RAW_CONTENT for tag in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open(tag, attrs, closes=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open(tag, attrs, closes=True)

    def _open(self, tag: str, attrs: list[tuple[str, str | None]], *, closes: bool) -> None:
        if self._inside_raw():
            return  # the template's own HTML (or CSS) inside a content element
        if tag != "mjml" and not tag.startswith("mj-"):
            self._fail(f"<{tag}> must be inside an MJML content element such as <mj-text>")
            return
        parent = self.stack[-1] if self.stack else None
        if parent == "mj-attributes":
            if tag not in _PARENTS and tag not in ("mj-all", "mj-class"):
                self._fail(f"unknown MJML element <{tag}>")
            if not closes:
                self.stack.append(tag)
            return  # defaults for any element: <mj-text ... />, any attribute
        if tag == "mjml":
            allowed: frozenset[str] = frozenset()
        elif tag in _PARENTS:
            allowed = _PARENTS[tag]
        else:
            self._fail(f"unknown MJML element <{tag}>")
            return
        if (tag == "mjml" and parent is not None) or (tag != "mjml" and parent not in allowed):
            self._fail(f"<{tag}> cannot be inside <{parent or 'nothing'}>")
        unknown = [name for name, _ in attrs if name not in _ATTRIBUTES and not name.startswith("data-")]
        if unknown and tag != "mjml":
            self._fail(f"<{tag}> has an attribute MJML does not know: {unknown[0]}")
        if not closes:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._inside_raw() and tag != self.stack[-1]:
            return
        if tag != "mjml" and not tag.startswith("mj-"):
            return
        if not self.stack or self.stack[-1] != tag:
            self._fail(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            return
        self.stack.pop()


def validate_mjml(source: str, template: str) -> None:
    """RenderError naming ``template`` at the first problem strict MJML validation reports."""
    checker = _Checker()
    checker.feed(source)
    checker.close()
    if checker.problem is None and checker.stack:
        checker.problem = f"<{checker.stack[-1]}> is never closed"
    if checker.problem is not None:
        raise RenderError(template, None, f"MJML (strict): {checker.problem}")


def compile_mjml(source: str, template: str) -> str:
    """Validate strictly, then compile to HTML; the email's wrapper is its ``main`` landmark (the body div
    MJML marks ``role="article"``), so a screen reader, and axe-core, find where the message is."""
    validate_mjml(source, template)
    try:
        html = str(mjml.mjml2html(source, fonts={}))  # no web-font imports: they track readers
    except (ValueError, RuntimeError) as exc:  # mjml-python reports MJML parse errors as ValueError
        raise RenderError(template, None, f"MJML could not compile the rendered template: {exc}") from exc
    return html.replace(' role="article"', ' role="main"', 1)
