from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from distro import packaged
from distro.compose.templating import (
    format_date,
    make_environment,
    read_time,
    render,
    render_string,
    template_roots,
    wrap,
)
from distro.errors import RenderError
from distro.settings import Settings
from distro.web import desk_time


def write(root: Path, name: str, source: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    write(tmp_path, "email/page.mjml.j2", "<p>{{ title }}</p>\n")
    write(tmp_path, "email/page.txt.j2", "{{ title }}\n")
    write(tmp_path, "email/page.html.j2", "<p>{{ title }}</p>\n")
    return tmp_path


def test_autoescape_for_markup_templates_only(templates: Path) -> None:
    env = make_environment(templates)
    context = {"title": 'Tom & "Jerry" <b>'}
    assert render(env, "email/page.mjml.j2", context) == "<p>Tom &amp; &#34;Jerry&#34; &lt;b&gt;</p>\n"
    assert render(env, "email/page.html.j2", context) == "<p>Tom &amp; &#34;Jerry&#34; &lt;b&gt;</p>\n"
    assert render(env, "email/page.txt.j2", context) == 'Tom & "Jerry" <b>\n'
    assert render_string(env, "{{ title }}", context, "settings.digest.subject") == 'Tom & "Jerry" <b>'


def test_date_filter_uses_the_given_zone() -> None:
    late = datetime(2025, 3, 9, 23, 30, tzinfo=UTC)
    assert format_date(late, "Europe/London") == "9 March 2025"
    assert format_date(late, "Asia/Tokyo") == "10 March 2025"
    assert format_date(late, "America/New_York", "%Y-%m-%d %H:%M") == "2025-03-09 19:30"


def test_date_filter_refuses_naive_datetimes(templates: Path) -> None:
    write(templates, "email/when.txt.j2", "{{ when|date('Europe/London') }}\n")
    with pytest.raises(RenderError) as caught:
        render(make_environment(templates), "email/when.txt.j2", {"when": datetime(2025, 3, 9)})
    assert (caught.value.template, caught.value.line) == ("email/when.txt.j2", 1)
    assert "aware" in caught.value.reason


def test_read_time_and_wrap() -> None:
    assert read_time("") == 1
    assert read_time("word " * 230) == 1
    assert read_time("word " * 1000) == 4
    url = "https://news.example/" + "x" * 80
    wrapped = wrap(f"one two three four five six {url}\n\nsecond   paragraph", width=20)
    assert wrapped.split("\n") == ["one two three four", "five six", url, "", "second paragraph"]


def test_syntax_error_names_file_and_line(templates: Path) -> None:
    write(templates, "email/broken.mjml.j2", "<p>ok</p>\n<p>ok</p>\n{% if title %}\n<p>never closed</p>\n")
    with pytest.raises(RenderError) as caught:
        render(make_environment(templates), "email/broken.mjml.j2", {"title": "x"})
    assert caught.value.template == "email/broken.mjml.j2"
    assert caught.value.line == 4
    assert "email/broken.mjml.j2:4" in str(caught.value)


def test_undefined_variable_names_file_and_line(templates: Path) -> None:
    write(templates, "email/undefined.txt.j2", "line one\n{{ title }}\n\nHello {{ nobody.name }}\n")
    with pytest.raises(RenderError) as caught:
        render(make_environment(templates), "email/undefined.txt.j2", {"title": "x"})
    assert (caught.value.template, caught.value.line) == ("email/undefined.txt.j2", 4)
    assert "nobody" in caught.value.reason


def test_error_inside_an_include_names_the_partial(templates: Path) -> None:
    write(templates, "email/partials/inner.mjml.j2", "<p>fine</p>\n<p>{{ missing }}</p>\n")
    write(templates, "email/outer.mjml.j2", "a\nb\nc\n{% include 'email/partials/inner.mjml.j2' %}\n")
    with pytest.raises(RenderError) as caught:
        render(make_environment(templates), "email/outer.mjml.j2", {})
    assert (caught.value.template, caught.value.line) == ("email/partials/inner.mjml.j2", 2)


def test_syntax_error_in_an_include_names_the_partial(templates: Path) -> None:
    write(templates, "email/partials/bad.mjml.j2", "<p>fine</p>\n{{ oops( }}\n")
    write(templates, "email/outer.mjml.j2", "{% include 'email/partials/bad.mjml.j2' %}\n")
    with pytest.raises(RenderError) as caught:
        render(make_environment(templates), "email/outer.mjml.j2", {})
    assert (caught.value.template, caught.value.line) == ("email/partials/bad.mjml.j2", 2)


def test_exception_inside_a_filter_is_a_render_error(templates: Path) -> None:
    write(templates, "email/filter.txt.j2", "\n\n{{ when|date('Not/AZone') }}\n")
    with pytest.raises(RenderError) as caught:
        render(make_environment(templates), "email/filter.txt.j2", {"when": datetime(2025, 1, 1, tzinfo=UTC)})
    assert (caught.value.template, caught.value.line) == ("email/filter.txt.j2", 3)


def test_missing_template(templates: Path) -> None:
    with pytest.raises(RenderError) as caught:
        render(make_environment(templates), "email/nope.mjml.j2", {})
    assert caught.value.template == "email/nope.mjml.j2"
    assert caught.value.line is None
    write(templates, "email/includes.mjml.j2", "<p>a</p>\n{% include 'email/partials/gone.mjml.j2' %}\n")
    with pytest.raises(RenderError) as caught:
        render(make_environment(templates), "email/includes.mjml.j2", {})
    assert (caught.value.template, caught.value.line) == ("email/includes.mjml.j2", 2)
    assert "email/partials/gone.mjml.j2" in caught.value.reason


def test_string_template_errors_carry_the_given_name(templates: Path) -> None:
    env = make_environment(templates)
    with pytest.raises(RenderError) as caught:
        render_string(env, "{{ publication.name }} · {{ lead.title", {}, "settings.digest.subject")
    assert (caught.value.template, caught.value.line) == ("settings.digest.subject", 1)
    with pytest.raises(RenderError) as caught:
        render_string(env, "Weekly\n{{ lead.title }}", {}, "settings.digest.subject")
    assert (caught.value.template, caught.value.line) == ("settings.digest.subject", 2)


def test_a_site_folder_overrides_the_packaged_templates_file_by_file(tmp_path: Path) -> None:
    packaged, site = tmp_path / "packaged", tmp_path / "site"
    write(packaged, "email/page.txt.j2", "packaged page, {% include 'email/part.txt.j2' %}")
    write(packaged, "email/part.txt.j2", "packaged part")
    write(packaged, "email/other.txt.j2", "packaged other")
    env = make_environment(site, packaged)  # a site that overrides nothing need not have the folder
    assert render(env, "email/page.txt.j2", {}) == "packaged page, packaged part"
    write(site, "email/part.txt.j2", "the site's part")
    env = make_environment(site, packaged)
    assert render(env, "email/page.txt.j2", {}) == "packaged page, the site's part"
    assert render(env, "email/other.txt.j2", {}) == "packaged other"


def test_an_error_in_a_site_override_names_the_file_relative_to_the_site_folder(tmp_path: Path) -> None:
    packaged, site = tmp_path / "packaged", tmp_path / "site"
    write(packaged, "email/page.txt.j2", "fine\n")
    write(site, "email/page.txt.j2", "fine\n{{ nobody.name }}\n")
    with pytest.raises(RenderError) as caught:
        render(make_environment(site, packaged), "email/page.txt.j2", {})
    assert (caught.value.template, caught.value.line) == ("email/page.txt.j2", 2)


def test_every_shipped_template_loads_without_a_site_folder(tmp_path: Path) -> None:
    env = make_environment(tmp_path / "no-such-folder")
    desk_time.install(env, Settings())  # the web app adds the desk's time filters to the same environment
    names = packaged.template_names()
    assert {"email/digest.mjml.j2", "web/subscribe.html.j2", "social/x.txt.j2"} <= set(names)
    for name in names:
        assert Path(env.get_template(name).filename or "").is_relative_to(packaged.templates_dir())
    # run from distro's own repository, the site folder is the packaged one: searched once
    assert template_roots(packaged.templates_dir()) == [str(packaged.templates_dir().resolve())]
