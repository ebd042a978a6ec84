"""SpamAssassin (local rules, no network) scores every email distro sends at 0.0 or below.

Skips when ``spamassassin`` is not installed (``.ci/run`` installs it, and CI=true then requires it).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import time_machine

from distro.app import App
from tests.compose.emails import KINDS, every_email
from tests.conftest import require

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
_SCORE = re.compile(r"^X-Spam-Status: \w+, score=(-?[\d.]+).*?tests=(.*?)(?:autolearn|version)", re.S | re.M)


def spam_score(raw: bytes) -> tuple[float, str]:
    """(score, the rules that hit) as ``spamassassin -L`` judges ``raw``."""
    done = subprocess.run(
        ["spamassassin", "-L", "--cf=report_safe 0"], input=raw, capture_output=True, timeout=120, check=True
    )
    head = done.stdout.split(b"\r\n\r\n" if b"\r\n\r\n" in done.stdout else b"\n\n", 1)[0]
    match = _SCORE.search(head.decode("ascii", "replace").replace("\r\n", "\n"))
    assert match is not None, head[:400]
    return float(match[1]), " ".join(match[2].replace(",", " ").split())


def test_every_email_scores_zero_or_below(app: App, clock: time_machine.Traveller) -> None:
    if shutil.which("spamassassin") is None:
        require("spamassassin", "install Debian's spamassassin (see .ci/run)")
    emails = every_email(app)
    assert sorted(emails) == sorted(KINDS)
    scores = {kind: spam_score(raw) for kind, raw in emails.items()}
    assert {kind: s for kind, (s, _) in scores.items() if s > 0.0} == {}, scores
