"""Digest personalisation speed: compose once + byte substitution vs the naive per-subscriber render.

Rows, measured in the same run on one core, with the example publication's digest:

1. distro: ``PreparedMessage.render`` per subscriber (name, To, Message-ID, Date, unsubscribe and
   preferences links filled into the prebuilt message), values precomputed;
2. distro + tokens: the same, plus ``personal_for`` (HMAC-signed unsubscribe/preferences tokens, the
   Message-ID), as ``MessageBuilder`` does per row;
3. distro + DKIM: row 2 plus a per-message RSA-2048 DKIM signature (dkimpy), measured on a sample;
4. naive baseline: Jinja + MJML + premailer + ``email`` package per subscriber, on a sample, extrapolated.

    python bench/digest_render.py [--messages 100000] [--naive 30] [--dkim 300]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from distro.app import build_app  # noqa: E402
from distro.compose.digest import compose_digest  # noqa: E402
from distro.compose.dkim import DkimSigner  # noqa: E402
from distro.compose.message import Personal, PreparedMessage, fill_preview  # noqa: E402
from distro.db import upgrade  # noqa: E402
from distro.services.digest import compose_weekly, window_articles  # noqa: E402
from distro.services.ingest import ingest  # noqa: E402
from distro.services.personal import personal_for  # noqa: E402
from distro.settings import Settings, SourceSettings  # noqa: E402


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--naive", type=int, default=30, help="naive renders to time (extrapolated)")
    parser.add_argument("--dkim", type=int, default=300, help="DKIM signatures to time")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{tmp}/bench.db",
            var_dir=Path(tmp) / "var",
            templates_dir=ROOT / "templates",
            sources=[SourceSettings(name="example", url=str(ROOT / "examples" / "feed.xml"))],
        )
        app = build_app(settings)
        upgrade(app.engine)
        ingest(app)
        digest = compose_weekly(app).digest
        assert digest is not None
        _, articles = window_articles(app, digest.window_end, window_days=7, before_slug=digest.slug)
        prepared = PreparedMessage.from_template(digest.message_template)
        n = args.messages
        people = [
            personal_for(
                app,
                digest_slug=digest.slug,
                subscriber_id=i,
                email=f"reader{i}@example.org",
                name=f"Reader Number {i}" if i % 3 else None,
                delivery_id=i,
            )
            for i in range(1000)
        ]
        start = time.perf_counter()
        size = 0
        for i in range(n):
            size += len(prepared.render(people[i % 1000]))
        fast = _rate(n, time.perf_counter() - start)

        start = time.perf_counter()
        for i in range(n):
            p = personal_for(
                app,
                digest_slug=digest.slug,
                subscriber_id=i,
                email=f"reader{i}@example.org",
                name="Reader",
                delivery_id=i,
            )
            prepared.render(p)
        tokens = _rate(n, time.perf_counter() - start)

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        signer = DkimSigner(b"bench", b"meridian-review.example", pem)
        start = time.perf_counter()
        for i in range(args.dkim):
            signer.sign(prepared.render(people[i % 1000]))
        dkim_rate = _rate(args.dkim, time.perf_counter() - start)

        start = time.perf_counter()
        for i in range(args.naive):
            _naive(app, digest.slug, articles, digest.window_end, people[i % 1000])
        naive = _rate(args.naive, time.perf_counter() - start)
        app.engine.dispose()

    print(f"digest: {len(articles)} stories, {size // n} bytes per message, {n} messages, one core")
    print(f"{'method':<44} {'messages/s':>12} {'vs naive':>10}")
    rows = [
        ("distro: prepared message, byte substitution", fast),
        ("distro + signed tokens (as MessageBuilder)", tokens),
        (f"distro + DKIM RSA-2048 per message ({args.dkim})", dkim_rate),
        (f"naive: Jinja+MJML+premailer+email ({args.naive})", naive),
    ]
    for label, rate in rows:
        print(f"{label:<44} {rate:>12,.0f} {rate / naive:>9,.0f}x")
    met = fast >= 20_000 and fast / naive >= 100
    print(f"target: >= 100x naive and >= 20,000 msg/s -> {'met' if met else 'MISSED'}")
    return 0


def _naive(app, slug, articles, now, person: Personal) -> bytes:  # type: ignore[no-untyped-def]
    """What a simple sender does per subscriber: render everything, build the message with ``email``."""
    composed = compose_digest(settings=app.settings, env=app.templates, slug=slug, articles=articles, now=now)
    message = EmailMessage(policy=SMTP)
    message["From"] = app.settings.email.from_address
    message["To"] = person.email
    message["Subject"] = composed.subject
    message["Date"] = person.date
    message["Message-ID"] = person.message_id
    message["List-Unsubscribe"] = f"<{person.unsubscribe_url}>"
    message.set_content(fill_preview(composed.text, person))
    message.add_alternative(fill_preview(composed.html, person), subtype="html")
    return message.as_bytes()


if __name__ == "__main__":
    raise SystemExit(main())
