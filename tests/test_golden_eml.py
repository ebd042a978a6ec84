"""One personalised digest `.eml`, byte for byte: any change to the wire format shows up as a diff here.

The whole main job runs at a pinned instant with a fixed signing key (so the unsubscribe token and the
Message-ID are stable); only the MIME boundary, which is random per message, is normalised. After an
intended change, regenerate and review the diff like code::

    DISTRO_UPDATE_GOLDEN=1 ./scripts/test tests/test_golden_eml.py && git diff tests/golden/
"""

from __future__ import annotations

import difflib
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from pydantic import SecretStr

from distro.app import build_app
from distro.db import upgrade
from distro.services.jobs import run_once
from distro.services.subscribers import add_subscriber
from distro.settings import Settings, SourceSettings
from tests.conftest import EXAMPLE_FEED, ROOT

GOLDEN = ROOT / "tests" / "golden" / "weekly-amira.eml"
MONDAY = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # the example week's send time
_BOUNDARY = re.compile(rb"=_distro_[0-9a-f]+")


def normalised(raw: bytes) -> bytes:
    return _BOUNDARY.sub(b"=_distro_BOUNDARY", raw)


def personalised_eml(tmp_path: Path) -> bytes:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'distro.db'}",
        var_dir=tmp_path / "var",
        templates_dir=ROOT / "templates",
        sources=[SourceSettings(name="meridian-review", url=str(EXAMPLE_FEED), backfill=12)],
        secret_key=SecretStr("golden-file-signing-key-0123456789abcdef"),
    )
    settings.x.enabled = settings.facebook.enabled = False
    settings.email.bounce_address = "bounces+{token}@bounces.meridian-review.example"  # VERP Return-Path
    with time_machine.travel(MONDAY, tick=False):
        app = build_app(settings)
        upgrade(app.engine)
        add_subscriber(app, "amira@example.org", "Amira Haddad")
        run_once(app)
        app.engine.dispose()
    (eml,) = (tmp_path / "var").rglob("*.eml")
    return eml.read_bytes()


def test_the_personalised_digest_is_byte_for_byte_the_reviewed_one(tmp_path: Path) -> None:
    got = normalised(personalised_eml(tmp_path))
    if os.environ.get("DISTRO_UPDATE_GOLDEN") == "1":
        GOLDEN.write_bytes(got)
    want = GOLDEN.read_bytes()
    if got != want:
        diff = difflib.unified_diff(
            want.decode("ascii", "replace").splitlines(),
            got.decode("ascii", "replace").splitlines(),
            "golden",
            "now",
            lineterm="",
        )
        pytest.fail("the wire format changed:\n" + "\n".join(list(diff)[:60]), pytrace=False)
    assert b"\r\n" in got and b"Message-ID: <weekly-2026-W48." in got  # CRLF on the wire, the week's id
