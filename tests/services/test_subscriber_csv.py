"""CSV import and export of subscribers: the whole file is checked first, good rows are written in one
transaction, export then import gives back the same list, and bounced or suppressed addresses stay so.

Database tests run on SQLite and PostgreSQL (the ``app`` fixture); the CLI test runs the real command.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from distro.app import App
from distro.db import is_postgres
from distro.models import Subscriber, SubscriberStatus, Suppression
from distro.services.subscriber_csv import ImportRefused, inert, read_rows, revive, write_rows
from distro.services.subscribers import (
    active_subscribers,
    add_subscriber,
    export_csv,
    import_csv,
    list_subscribers,
)
from distro.services.suppression import suppress, suppressed_among, without_suppressed
from distro.settings import NewsletterSettings
from tests.conftest import ROOT


def _count(app: App, table: type[Subscriber] | type[Suppression] = Subscriber) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _people(count: int, start: int = 0) -> bytes:
    return "".join(f"p{i}@example.org,P{i}\n" for i in range(start, start + count)).encode()


# --- the format, without a database ---

_CELL = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)


@given(_CELL)
def test_revive_takes_off_exactly_what_inert_adds(cell: str) -> None:
    written = inert(cell)
    assert revive(written) == cell
    assert written[:1] not in ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet never runs it


@given(st.lists(st.tuples(_CELL, _CELL), min_size=1, max_size=8))
def test_cells_read_back_as_written(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str]]
) -> None:
    path = tmp_path_factory.mktemp("csv") / "rows.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        write_rows(handle, [("email", "name"), *rows])
    read = [cells for _, cells in read_rows(path)]
    # A row of two empty cells is written as "," and read back; only a line with nothing on it is skipped.
    assert read == [{"email": a, "name": b} for a, b in rows]


def test_bad_lines_are_numbered_where_their_row_starts(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(
        b"\xef\xbb\xbfEmail,Name\n"  # a BOM and any case in the header
        b'a@example.org,"two\nlines"\n'  # 2-3
        b"b@example.org,Andr\xe9\n"  # 4: latin-1
        b'c@example.org,"Lee" Jr\n'  # 5: broken quoting
        b"\n"  # 6: blank, no row
        b"d@example.org\n"  # 7: a short row
    )
    assert list(read_rows(path)) == [
        (2, {"email": "a@example.org", "name": "two\nlines"}),
        (4, "not UTF-8 (byte 0xe9 at column 19); save the file as UTF-8"),
        (5, "not valid CSV (',' expected after '\"')"),
        (7, {"email": "d@example.org", "name": ""}),
    ]


# --- import: check everything, then write the good rows in one transaction ---


def test_a_latin1_file_reports_each_line_that_is_not_utf8_and_imports_the_rest(
    app: App, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        "email,name\nana@example.org,Ana\nzoe@example.org,Zoë\nbo@example.org,Bo\nrene@example.org,René\n".encode(
            "latin-1"
        )
    )
    report = import_csv(app, path)
    assert (report.added, report.existing) == (2, 0)
    assert report.rejected == [
        (3, "not UTF-8 (byte 0xeb at column 19); save the file as UTF-8"),
        (5, "not UTF-8 (byte 0xe9 at column 21); save the file as UTF-8"),
    ]
    assert [s.email for s in list_subscribers(app)] == ["ana@example.org", "bo@example.org"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            "email,name\nana@example.org,Ana\n".encode("utf-16"),
            "is UTF-16 (or UTF-32) text; save it as UTF-8",
        ),
        ("email,name\nana@example.org,Ana\n".encode("utf-16-le"), "is UTF-16 text; save it as UTF-8"),
        (
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",
            "is a binary file (it holds NUL bytes), not CSV",
        ),
        (b"email,name\n" + _people(400) + b"late\x00nul@example.org,X\n", "line 402 holds NUL bytes"),
        (b"name\nAna\n", "the first line must be a header with an 'email' column"),
        (b"", "the first line must be a header with an 'email' column"),
    ],
    ids=["utf16-bom", "utf16-no-bom", "binary", "nul-after-400-rows", "no-email-column", "empty"],
)
def test_a_file_that_is_not_utf8_csv_is_refused_whole(
    app: App, tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(data)
    with pytest.raises(ImportRefused, match=re.escape(message)):
        import_csv(app, path)
    assert _count(app) == 0


def test_a_field_over_128_kb_is_one_bad_line_and_its_quoted_lines_are_not_rows(
    app: App, tmp_path: Path
) -> None:
    big = "x" * 200_000
    path = tmp_path / "big.csv"
    path.write_text(
        f"email,name\nana@example.org,Ana\nbig@example.org,{big}\n"
        f'quoted@example.org,"{big}\nhidden@example.org,inside the field\nend",\nbo@example.org,Bo\n',
        encoding="utf-8",
    )
    report = import_csv(app, path)
    assert report.rejected == [
        (3, "field longer than 128 KB"),
        (4, "field longer than 128 KB; lines 4-6 were read as part of it"),
    ]
    assert [s.email for s in list_subscribers(app)] == ["ana@example.org", "bo@example.org"]


def test_an_unclosed_quote_is_reported_instead_of_swallowing_the_rows_after_it(
    app: App, tmp_path: Path
) -> None:
    path = tmp_path / "open.csv"
    path.write_text('email,name\nana@example.org,"Ana\nbo@example.org,Bo\n', encoding="utf-8")
    report = import_csv(app, path)
    assert report.rejected == [(2, "a quote opened here is never closed; lines 2-3 were read as part of it")]
    assert report.added == 0


def test_a_database_failure_mid_write_commits_nothing(app: App, tmp_path: Path) -> None:
    # The database itself refuses the 1,100th row, after two chunks of 500 were written.
    with app.engine.begin() as connection:
        if is_postgres(app.engine):
            connection.execute(
                sa.text(
                    "CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.email = 'boom@example.org' THEN RAISE EXCEPTION 'no boom here'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            connection.execute(
                sa.text(
                    "CREATE TRIGGER refuse_boom BEFORE INSERT ON subscriber "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_boom()"
                )
            )
        else:
            connection.execute(
                sa.text(
                    "CREATE TRIGGER refuse_boom BEFORE INSERT ON subscriber "
                    "WHEN NEW.email = 'boom@example.org' BEGIN SELECT RAISE(ABORT, 'no boom here'); END"
                )
            )
    path = tmp_path / "people.csv"
    path.write_bytes(
        b"email,name,status\ndead@example.org,Dead,bounced\n"
        + _people(1098)
        + b"boom@example.org,Boom,\n"
        + _people(50, start=2000)
    )
    with pytest.raises(ImportRefused, match=r"people.csv: nothing was imported: .*no boom here"):
        import_csv(app, path)
    assert _count(app) == 0 and _count(app, Suppression) == 0


def test_good_rows_are_imported_and_every_bad_line_reported_in_order(app: App, tmp_path: Path) -> None:
    add_subscriber(app, "known@example.org", "Known")
    suppress(app.engine, "blocked@example.org", "complaint")
    path = tmp_path / "people.csv"
    path.write_text(
        "email,name,status\n"
        "new@example.org,New,\n"
        "blocked@example.org,Blocked,active\n"  # 3: on the suppression list
        "KNOWN@example.org,Known again,\n"  # known, in any case
        "not-an-address,Bad,\n"  # 5
        "odd@example.org,Odd,pending\n"  # 6: no such status
        "New@example.org,Twice,\n",  # the same address again in the file
        encoding="utf-8",
    )
    report = import_csv(app, path)
    assert (report.added, report.existing) == (1, 2)
    assert [line for line, _ in report.rejected] == [3, 5, 6]
    assert "suppression list (complaint)" in report.rejected[0][1]
    assert report.rejected[2][1] == "status 'pending' is not one of active, unsubscribed, bounced, suppressed"
    assert {s.email: s.name for s in list_subscribers(app)} == {
        "known@example.org": "Known",
        "new@example.org": "New",
    }


# --- export then import is the identity; bounced and suppressed addresses stay unmailable ---

TRICKY = [
    ("=cmd@example.org", "=SUM(A1)", ["Security"], None),
    ("+plus@example.org", "+1 555 0100", None, ["weekly", "security"]),
    ("-minus@example.org", "-", None, ["security"]),
    ("quote@example.org", "'=already quoted", None, None),
    ("apos@example.org", "'plain apostrophe", None, None),
    ("comma@example.org", 'Lee, "Jr."', ["Security", "Economy"], None),
    ("at@example.org", "@handle", None, None),
    ("Mixed.Case@example.org", "Tomáš Novák ✓ 李", None, None),
    ("empty@example.org", None, None, None),
]


def _state(app: App) -> list[tuple[str, str | None, list[str] | None, list[str] | None, str]]:
    return sorted((s.email, s.name, s.sections, s.newsletters, s.status) for s in list_subscribers(app))


def test_export_then_import_gives_back_the_same_subscribers(app: App, tmp_path: Path) -> None:
    app.settings.newsletters = [NewsletterSettings(slug_prefix="security", name="Security brief")]
    for email, name, sections, newsletters in TRICKY:
        add_subscriber(app, email, name, sections, newsletters)
    add_subscriber(app, "left@example.org", '=HYPERLINK("http://evil")', unsubscribed=True)
    add_subscriber(app, "dead@example.org", "Dead")
    add_subscriber(app, "dead-and-left@example.org", unsubscribed=True)
    add_subscriber(app, "complained@example.org")
    suppress(app.engine, "dead@example.org", "hard_bounce", "550 5.1.1 no such user")
    suppress(app.engine, "dead-and-left@example.org", "hard_bounce")
    suppress(app.engine, "complained@example.org", "complaint")
    before = _state(app)
    exported = tmp_path / "export.csv"
    with exported.open("w", encoding="utf-8", newline="") as handle:
        assert export_csv(app, handle, page_size=4) == len(TRICKY) + 4
    text = exported.read_text(encoding="utf-8")
    assert "'=cmd@example.org,'=SUM(A1)" in text and ",''=already quoted," in text
    assert ",'plain apostrophe," in text  # not a formula: left alone

    with app.engine.begin() as connection:  # a fresh database
        connection.execute(sa.delete(Subscriber))
        connection.execute(sa.delete(Suppression))
    report = import_csv(app, exported)
    assert (report.added, report.existing, report.rejected) == (len(TRICKY) + 4, 0, [])
    assert _state(app) == before
    statuses = {s.email: s.status for s in list_subscribers(app)}
    assert statuses["dead@example.org"] == statuses["dead-and-left@example.org"] == "bounced"
    assert (
        statuses["complained@example.org"] == "suppressed" and statuses["left@example.org"] == "unsubscribed"
    )
    mailable = {s.email for s in without_suppressed(app.engine, active_subscribers(app))}  # as queued
    assert not mailable & {"dead@example.org", "dead-and-left@example.org", "complained@example.org"}
    assert set(suppressed_among(app.engine, ["dead@example.org", "complained@example.org"])) == {
        "dead@example.org",
        "complained@example.org",
    }
    with app.engine.connect() as connection:  # it had left before it bounced: still unsubscribed beneath
        left = connection.execute(
            sa.select(Subscriber.status).where(Subscriber.email == "dead-and-left@example.org")
        ).scalar_one()
    assert left == SubscriberStatus.UNSUBSCRIBED


def test_list_and_export_show_bounced_and_suppressed(app: App) -> None:
    for address in ("ok@example.org", "bounced@example.org", "blocked@example.org"):
        add_subscriber(app, address)
    suppress(app.engine, "Bounced@Example.org", "hard_bounce")
    suppress(app.engine, "blocked@example.org", "manual")
    assert [(s.email, s.status) for s in list_subscribers(app)] == [
        ("ok@example.org", "active"),
        ("bounced@example.org", "bounced"),
        ("blocked@example.org", "suppressed"),
    ]
    out = io.StringIO()
    export_csv(app, out)
    statuses = {row["email"]: row["status"] for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert statuses == {
        "ok@example.org": "active",
        "bounced@example.org": "bounced",
        "blocked@example.org": "suppressed",
    }


# --- the command, as a user runs it ---


def _distro(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRO_")}
    env["DISTRO_DATABASE_URL"] = f"sqlite:///{workdir / 'distro.db'}"
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "distro.cli", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_refuses_a_utf16_file_in_one_line_and_lists_bounced_addresses(tmp_path: Path) -> None:
    for name in ("templates", "config"):
        (tmp_path / name).symlink_to(ROOT / name)
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("email,name\nana@example.org,Ana\n".encode("utf-16"))
    refused = _distro(tmp_path, "subscribers", "import", str(utf16))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        f"error: {utf16} is UTF-16 (or UTF-32) text; save it as UTF-8 (CSV UTF-8) and import again"
    ]

    people = tmp_path / "people.csv"
    people.write_bytes(
        b"email,name,status\nana@example.org,Ana,\ndead@example.org,Dead,bounced\nbo@example.org,Andr\xe9,\n"
    )
    imported = _distro(tmp_path, "subscribers", "import", str(people))
    assert imported.returncode == 0, imported.stderr
    assert "2 added, 0 already known, 1 rejected" in imported.stdout
    assert f"{people}:4: not UTF-8 (byte 0xe9 at column 20)" in imported.stderr
    listed = json.loads(_distro(tmp_path, "subscribers", "list", "--format", "json").stdout)
    assert [(s["email"], s["status"]) for s in listed] == [
        ("ana@example.org", "active"),
        ("dead@example.org", "bounced"),
    ]
    exported = _distro(tmp_path, "subscribers", "export-csv").stdout.splitlines()
    assert exported[2].startswith("dead@example.org,Dead,,,bounced,")
