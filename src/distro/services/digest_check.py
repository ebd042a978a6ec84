"""The pre-flight of an edition: ``distro digest check``, and the same checks before preview, test, send
and the desk's send button.

:func:`check_edition` gathers every finding (:mod:`distro.compose.preflight` on the HTML and the wire
bytes, SpamAssassin's score when asked and installed, and whether a bulk send may go out over SMTP);
:func:`require_safe` turns the first error into a one-line :class:`~distro.errors.DistroError`, so
nothing is queued or sent.

A bulk send over SMTP needs a DKIM key and an https ``web.public_url``: RFC 8058 one-click unsubscribe
needs an https link and a DKIM signature covering both List-Unsubscribe headers, and Gmail, Yahoo and
Outlook.com require it of bulk senders. ``email.unsafe_test_relay = true`` lifts exactly that rule (and
https-only links) for a test relay (Mailpit, a developer's aiosmtpd); never set it for real readers.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from distro.app import App
from distro.compose.message import PreparedMessage, fill_preview
from distro.compose.preflight import Finding, Level, check_html, check_size
from distro.errors import DistroError
from distro.models import Digest
from distro.services.personal import personal_for
from distro.settings import DigestSettings, Settings
from distro.store.articles import by_ids

SPAM_TIMEOUT = 60.0
_STATUS = re.compile(
    r"^X-Spam-Status: \w+, score=(-?[\d.]+) required=([\d.]+).*?tests=(.*?)\s(?:autolearn|version)=",
    re.S | re.M,
)


@dataclass(frozen=True, slots=True)
class SpamScore:
    score: float
    required: float
    rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CheckReport:
    findings: tuple[Finding, ...]
    spam: SpamScore | None = None  # None: not asked, or spamassassin is not installed

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.level == "warning")


def smtp_bulk_problems(settings: Settings) -> list[Finding]:
    """Why a bulk send may not go out over SMTP now (nothing in file mode or with the test-relay override)."""
    email = settings.email
    if email.mode != "smtp" or email.unsafe_test_relay:
        return []
    found = []
    if not (email.dkim_selector and email.dkim_domain):
        why = "receivers require it of bulk mail and RFC 8058 one-click unsubscribe needs it"
        found.append(Finding("error", "dkim", f"DKIM is not configured (email.dkim_*): {why}"))
    if not settings.web.public_url.lower().startswith("https://"):
        why = "RFC 8058 one-click unsubscribe needs an https link"
        found.append(
            Finding("error", "https", f"web.public_url {settings.web.public_url} is not https: {why}")
        )
    return found


def check_edition(
    app: App, newsletter: DigestSettings, digest: Digest, *, bulk: bool = True, spam: bool = False
) -> CheckReport:
    """Every finding on ``digest`` as an example reader gets it; ``bulk``: it goes to every reader (not
    one test copy); ``spam``: also score it with SpamAssassin (a few seconds) when it is installed."""
    settings = app.settings
    personal = personal_for(
        app, digest_slug=digest.slug, subscriber_id=0, email="preview@example.org", name=None,
        delivery_id=0, newsletter=digest.newsletter,
    )  # fmt: skip
    message = PreparedMessage.from_template(digest.message_template).render(personal)
    strict = settings.email.mode == "smtp" and not settings.email.unsafe_test_relay
    titles = [a.title for a in by_ids(app.engine, digest.article_ids).values()]
    findings = [
        *(smtp_bulk_problems(settings) if bulk else []),
        *check_size(message, newsletter.max_html_bytes),
        *check_html(fill_preview(digest.html, personal), https_only=strict, titles=titles),
    ]
    score = spam_score(message) if spam else None
    if score is not None and score.score > 0:
        level: Level = "error" if score.score >= score.required else "warning"
        rules = ", ".join(score.rules)
        findings.append(Finding(level, "spam", f"SpamAssassin scores {score.score:.1f} ({rules})"))
    return CheckReport(tuple(findings), score)


def require_safe(
    app: App, newsletter: DigestSettings, digest: Digest, *, bulk: bool = True, spam: bool = False
) -> CheckReport:
    """The report, or DistroError with the first error as its one-line reason (nothing is sent)."""
    report = check_edition(app, newsletter, digest, bulk=bulk, spam=spam)
    if report.errors:
        more = f" (and {len(report.errors) - 1} more: distro digest check)" if len(report.errors) > 1 else ""
        raise DistroError(f"pre-flight refused {digest.slug}: {report.errors[0].message}{more}")
    return report


def spam_score(message: bytes) -> SpamScore | None:
    """SpamAssassin's verdict with local rules only (no network), or None when it is not installed."""
    if shutil.which("spamassassin") is None:
        return None
    try:
        done = subprocess.run(
            ["spamassassin", "-L", "--cf=report_safe 0"], input=message, capture_output=True,
            timeout=SPAM_TIMEOUT, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    head = done.stdout.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("ascii", "replace")
    match = _STATUS.search(head)
    if match is None:
        return None
    rules = tuple(r for r in match[3].replace(",", " ").split() if r != "none")
    return SpamScore(float(match[1]), float(match[2]), rules)
