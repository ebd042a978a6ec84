"""Strict MJML: what mjml-python would compile while dropping or mangling content is refused by name."""

from __future__ import annotations

import mjml
import pytest

from distro.compose.mjml_strict import compile_mjml, validate_mjml
from distro.errors import RenderError

HEAD = (
    '<mj-head><mj-attributes><mj-all font-family="Arial" /><mj-text color="#222" /></mj-attributes></mj-head>'
)


def body(inner: str) -> str:
    return f"<mjml>{HEAD}<mj-body><mj-section><mj-column>{inner}</mj-column></mj-section></mj-body></mjml>"


def test_a_sound_template_compiles_with_a_main_landmark() -> None:
    text = '<mj-text css-class="x"><h1>Title <br> <a href="https://a.example">a</a></h1></mj-text>'
    rest = '<mj-raw><tr><td>raw</td></tr></mj-raw><mj-image src="https://i.example/a.png" alt="" />'
    html = compile_mjml(body(text + rest), "t.mjml")
    assert 'role="main"' in html and 'role="article"' not in html and "Title" in html


@pytest.mark.parametrize(
    ("inner", "reason"),
    [
        ("<mj-txt>Lost title</mj-txt>", "unknown MJML element <mj-txt>"),
        ("<mj-section><mj-text>x</mj-text></mj-section>", "<mj-section> cannot be inside <mj-column>"),
        ('<mj-text colour="red">x</mj-text>', "<mj-text> has an attribute MJML does not know: colour"),
        ("<p>bare html</p>", "<p> must be inside an MJML content element"),
        ("<mj-text>never closed", "<mj-text> is never closed"),
    ],
)
def test_what_mjml_python_tolerates_is_refused(inner: str, reason: str) -> None:
    source = body(inner)
    if "never closed" not in inner:
        mjml.mjml2html(source, fonts={})  # the compiler itself says nothing
    with pytest.raises(RenderError) as caught:
        validate_mjml(source, "email/digest.mjml.j2")
    assert reason in str(caught.value) and "email/digest.mjml.j2" in str(caught.value)
