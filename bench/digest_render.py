"""Digest personalisation speed: compose once + byte substitution vs the naive per-subscriber render.

Rows, measured in the same run on one core, with the example publication's digest:

1. distro: ``PreparedMessage.render`` per subscriber (name, To, Message-ID, Date, unsubscribe and
   preferences links filled into the prebuilt message), values precomputed;
2. distro + tokens: the same, plus ``personal_for`` (HMAC-signed unsubscribe/preferences tokens, the
   Message-ID), as ``MessageBuilder`` does per row;
3. distro + DKIM: row 1 plus a per-message RSA-2048 DKIM signature (``compose/dkim.py``), on a sample;
4. naive baseline: Jinja + MJML + premailer + ``email`` package per subscriber, on a sample, extrapolated.

A second table times the DKIM signature alone per message: ours with RSA-2048 and Ed25519 against dkimpy's
pure-Python RSA-2048 signing the same messages (a tenth of the sample; it is slow).

    python bench/digest_render.py [--messages 100000] [--naive 30] [--dkim 300]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import dkim  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa  # noqa: E402

from distro.app import build_app  # noqa: E402
from distro.compose.digest import compose_digest  # noqa: E402
from distro.compose.dkim import SIGNED_HEADERS, DkimSigner  # noqa: E402
from distro.compose.message import Personal, PreparedMessage, fill_preview  # noqa: E402
from distro.db import upgrade  # noqa: E402
from distro.services.digest_compose import open_edition, window_articles  # noqa: E402
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
            sources=[SourceSettings(name="example", url=str(ROOT / "examples" / "feed.xml"), backfill=12)],
        )
        app = build_app(settings)
        upgrade(app.engine)
        ingest(app)
        digest = open_edition(app, app.settings.digest).digest
        assert digest is not None
        _, articles = window_articles(
            app, app.settings.digest, digest.window_end, window_days=7, before_slug=digest.slug
        )
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

        dkim_rows = _dkim_rows(prepared, people, args.dkim)
        dkim_rate = dkim_rows[0][1]

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
        (f"distro + DKIM RSA-2048 (cryptography) ({args.dkim})", dkim_rate),
        (f"naive: Jinja+MJML+premailer+email ({args.naive})", naive),
    ]
    for label, rate in rows:
        print(f"{label:<44} {rate:>12,.0f} {rate / naive:>9,.0f}x")
    met = fast >= 20_000 and fast / naive >= 100
    print(f"target: >= 100x naive and >= 20,000 msg/s -> {'met' if met else 'MISSED'}")
    print()
    print(f"{'DKIM signing, one message (render excluded)':<44} {'us/message':>12} {'vs dkimpy':>10}")
    baseline = dkim_rows[-1][2]
    for label, _, seconds in dkim_rows[1:]:
        print(f"{label:<44} {seconds * 1e6:>12,.0f} {baseline / seconds:>9,.1f}x")
    print(f"target: RSA-2048 well under 1 ms -> {'met' if dkim_rows[1][2] < 1e-3 else 'MISSED'}")
    return 0


def _pem(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _dkim_rows(
    prepared: PreparedMessage, people: list[Personal], count: int
) -> list[tuple[str, float, float]]:
    """(label, messages/s including render, seconds per signature alone): ours with RSA and Ed25519, then
    dkimpy (pure-Python RSA) as the baseline, all on the same rendered messages in this run."""
    rsa_pem = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    ours = DkimSigner(b"bench", b"meridian-review.example", rsa_pem)
    ed = DkimSigner(b"bench", b"meridian-review.example", _pem(ed25519.Ed25519PrivateKey.generate()))
    messages = [prepared.render(people[i % len(people)]) for i in range(count)]
    start = time.perf_counter()
    for i in range(count):
        ours.sign(prepared.render(people[i % len(people)]))
    with_render = _rate(count, time.perf_counter() - start)

    def per_message(sign: Callable[[bytes], bytes], sample: list[bytes]) -> float:
        start = time.perf_counter()
        for message in sample:
            sign(message)
        return (time.perf_counter() - start) / len(sample)

    headers = list(SIGNED_HEADERS)

    def dkimpy(message: bytes) -> bytes:
        return dkim.sign(
            message, b"bench", b"meridian-review.example", rsa_pem,
            canonicalize=(b"relaxed", b"relaxed"), include_headers=headers, linesep=b"\r\n",
        )  # fmt: skip

    return [
        ("", with_render, 0.0),
        ("distro: RSA-2048, cryptography", 0.0, per_message(ours.sign, messages)),
        ("distro: Ed25519, cryptography", 0.0, per_message(ed.sign, messages)),
        (
            "baseline: dkimpy RSA-2048 (pure Python)",
            0.0,
            per_message(dkimpy, messages[: max(count // 10, 5)]),
        ),
    ]


def _naive(app, slug, articles, now, person: Personal) -> bytes:  # type: ignore[no-untyped-def]
    """What a simple sender does per subscriber: render everything, build the message with ``email``."""
    composed = compose_digest(
        settings=app.settings,
        newsletter=app.settings.digest,
        env=app.templates,
        slug=slug,
        articles=articles,
        now=now,
    )
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
