"""The editor's intro paragraph: Markdown in, safe HTML out.

markdown-it-py (CommonMark, raw HTML disabled) renders it and nh3 keeps only a small set of inline and
block tags and http(s)/mailto links, so an intro can never carry script, style or tracking markup.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_TAGS = {"p", "a", "em", "strong", "b", "i", "ul", "ol", "li", "br", "blockquote", "code"}
_ATTRIBUTES = {"a": {"href", "title"}}
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def intro_html(markdown: str) -> str:
    """``markdown`` as sanitised HTML ("" for blank input); paragraphs get no margin surprises in email."""
    if not markdown.strip():
        return ""
    rendered = _MARKDOWN.render(markdown)
    return nh3.clean(
        rendered,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener",
    ).strip()


def intro_text(markdown: str) -> str:
    """The intro for the text part: Markdown is already a reading format; normalise line ends only."""
    return "\n".join(line.rstrip() for line in markdown.strip().replace("\r\n", "\n").split("\n"))
