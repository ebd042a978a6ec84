"""The sections of the settings, one typed model each (``[smtp]``, ``[digest]``, ``[[sources]]``, ...).

The social platforms' sections are in :mod:`distro.settings.social`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import NoDecode

DEFAULT_CONFIG = Path("config/distro.toml")
# A request header whose value is a credential: refused in the TOML file, given in DISTRO_SOURCE_HEADERS.
SECRET_HEADER = re.compile(r"auth|cookie|token|secret|passw|key|session|signature|credential", re.IGNORECASE)


def _listed(value: Any) -> Any:
    """A list setting from the environment: a JSON array, or values separated by commas."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PublicationSettings(_Section):
    name: str = "The Meridian Review"
    url: str = "https://meridian-review.example"
    postal_address: str = "The Meridian Review, 1 Example Street, London EC1A 1AA, United Kingdom"
    language: str = "en"


class EmailSettings(_Section):
    mode: Literal["file", "smtp"] = "file"
    from_address: str = "digest@meridian-review.example"
    from_name: str = "The Meridian Review"
    reply_to: str | None = None
    list_id: str = "weekly.meridian-review.example"
    # Mailbox that receives mailto: unsubscribe requests (List-Unsubscribe); None to omit the mailto form.
    unsubscribe_mailto: str | None = "unsubscribe@meridian-review.example"
    # DKIM signing (OpenSSL via cryptography) when selector, domain and a key are set
    # (dkim_private_key_file, or DISTRO_EMAIL__DKIM_PRIVATE_KEY).
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    dkim_private_key_file: Path | None = None
    dkim_private_key: SecretStr | None = None
    # VERP envelope sender (MAIL FROM) per delivery, e.g. "bounces+{token}@bounces.meridian-review.example":
    # a bounce then names its delivery (distro.feedback.verp). None: MAIL FROM is from_address.
    bounce_address: str | None = None
    # Only for a test relay (Mailpit, aiosmtpd): lets a bulk send go out over SMTP without DKIM and with an
    # http web.public_url, which the pre-flight otherwise refuses (distro.services.digest_check).
    unsafe_test_relay: bool = False

    @field_validator("bounce_address")
    @classmethod
    def _one_token(cls, value: str | None) -> str | None:
        if value is not None and (value.count("{token}") != 1 or "@" not in value.partition("{token}")[2]):
            raise ValueError(
                'must be an address with "{token}" once in its local part, e.g. bounces+{token}@example.org'
            )
        return value


class BouncesSettings(_Section):
    """What bounces and complaints do (distro.services.bounces) and where they come in from."""

    # Soft bounces (4.x.x: mailbox full, greylisting) after which an address is suppressed, in a window.
    soft_limit: int = Field(default=3, ge=1)
    soft_window_days: int = Field(default=30, ge=1)
    # `distro bounces serve`: the listener an MTA hands the bounce domain to (LMTP, or plain SMTP).
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8024, ge=1, le=65535)
    protocol: Literal["lmtp", "smtp"] = "lmtp"
    max_message_bytes: int = Field(default=10_000_000, ge=10_000)
    # `distro bounces fetch`: an IMAP mailbox polled over TLS; the password from the environment only
    # (DISTRO_BOUNCES__IMAP_PASSWORD).
    imap_host: str | None = None
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_security: Literal["ssl", "starttls"] = "ssl"
    imap_username: str | None = None
    imap_password: SecretStr | None = None
    imap_folder: str = "INBOX"
    imap_processed_folder: str = "distro-processed"
    imap_ca_file: Path | None = None  # a private CA for the IMAP server's certificate (else the system's)
    # ESP webhooks on POST /hooks/bounces/<provider>; a provider with nothing set answers 503.
    # SES via SNS: the topics whose notifications are accepted (ARNs); the signing certificate is checked
    # against the system's CAs, or sns_ca_file.
    ses_topic_arns: Annotated[list[str], NoDecode] = Field(default_factory=list)
    sns_ca_file: Path | None = None
    # Postmark: basic auth (DISTRO_BOUNCES__POSTMARK_PASSWORD) or a secret path segment
    # (POST /hooks/bounces/postmark/<DISTRO_BOUNCES__POSTMARK_PATH_SECRET>).
    postmark_username: str | None = None
    postmark_password: SecretStr | None = None
    postmark_path_secret: SecretStr | None = None
    # Mailgun: the HTTP webhook signing key (DISTRO_BOUNCES__MAILGUN_SIGNING_KEY).
    mailgun_signing_key: SecretStr | None = None
    # SendGrid: the signed event webhook's verification key (base64 DER of an ECDSA P-256 public key).
    sendgrid_public_key: str | None = None
    # Signed calls older than this (Mailgun, SendGrid timestamps) are refused as replays.
    max_age_seconds: int = Field(default=300, ge=30)

    @field_validator("ses_topic_arns", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _listed(value)


class SmtpSettings(_Section):
    host: str = "localhost"
    port: int = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = 30.0
    # Messages sent on one connection before it is recycled (servers often cap this).
    messages_per_connection: int = 100


NEWSLETTER_PREFIX = r"^[a-z0-9][a-z0-9_]{0,30}$"  # no "-": a slug is "<prefix>-<period>"


class DigestSettings(_Section):
    """One newsletter: the main weekly digest (``[digest]``), or one more under ``[[newsletters]]``."""

    slug_prefix: str = Field(default="weekly", pattern=NEWSLETTER_PREFIX)  # names the newsletter everywhere
    name: str = "Weekly digest"  # what subscribers see on the sign-up and preferences pages
    description: str = ""
    period: Literal["week", "day"] = "week"  # one edition per ISO week, or per day, in `timezone`
    template: str = Field(default="digest", pattern=r"^[A-Za-z0-9_-]+$")  # email/<template>.mjml.j2, .txt.j2
    list_id: str | None = None  # List-Id of this newsletter; None: email.list_id
    only_sections: list[str] | None = None  # only articles of these sections; None: every section
    # Subscribers who never chose newsletters get this one (the main digest) or not (an opt-in brief).
    subscribe_by_default: bool = True
    day_of_week: str = "mon"
    time: str = "07:00"
    timezone: str = "Europe/London"
    window_days: int = 7
    max_stories: int = 12
    sections: list[str] = Field(default_factory=lambda: ["Geopolitics", "Security", "Economy", "Commentary"])
    subject: str = "{{ lead.title }}"  # the From name already says the publication
    greeting_fallback: str = "reader"
    utm_source: str = "newsletter"
    # A week without new articles: "skip" sends nothing, "note" sends the short email/empty.mjml.j2 note.
    empty_week: Literal["skip", "note"] = "skip"
    intro: str = ""  # default editor's intro (Markdown) when the week's edit has none
    max_html_bytes: int = 102 * 1024  # warn above this HTML size (Gmail clips at 102 KB)
    # Sent editions on the public web archive (/archive/...) with a "View in browser" link in each message;
    # false keeps the whole newsletter out (one edition can be kept out on the desk).
    archive: bool = True

    def chosen_by(self, newsletters: list[str] | None) -> bool:
        """Whether a reader who chose ``newsletters`` gets this one (None: never chose, so the default)."""
        return self.subscribe_by_default if newsletters is None else self.slug_prefix in newsletters

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value


class NewsletterSettings(DigestSettings):
    """A further newsletter (``[[newsletters]]``): opt-in unless it says otherwise."""

    slug_prefix: str = Field(pattern=NEWSLETTER_PREFIX)
    name: str
    subscribe_by_default: bool = False


class TrackingSettings(_Section):
    """What is counted about readers (distro.services.clicks): aggregate counts only, unless per_reader."""

    # Links in the HTML part go through {web.public_url}/r/<token>, counted per edition and link; the
    # token names the edition and the link, never the reader (unless per_reader). The text part keeps
    # direct links.
    clicks: bool = True
    # The token also names the subscriber, so the report can say who clicked: only if you must.
    per_reader: bool = False
    # A tracking pixel; hits from Apple's Mail Privacy Protection proxy are reported as machine opens.
    opens: bool = False
    # Social posts' links go through the redirector too, so the report shows clicks per platform.
    social_links: bool = False
    # Every link of one message fetched within this many seconds is a link scanner, not a reader.
    scanner_burst_seconds: float = Field(default=5.0, ge=0)
    # The keyed hash that counts unique clickers rotates this often (days): nothing links two periods.
    visitor_key_days: int = Field(default=1, ge=1)


class WebSettings(_Section):
    public_url: str = "http://localhost:8000"
    # Shared secret of the CMS webhook (POST /hooks/articles); from DISTRO_WEB__WEBHOOK_SECRET only.
    webhook_secret: SecretStr | None = None
    # A signed webhook request older (or newer) than this many seconds is refused as a replay.
    webhook_max_age_seconds: int = 300
    # Lease asked of WebSub hubs; leases are renewed when less than a fifth of this remains.
    websub_lease_seconds: int = 7 * 24 * 3600
    # Sign-ups (POST /subscribe) allowed per client IP and per address in a sliding hour, counted in the
    # database so every web process shares them (the address as normalised: bomb@ｅxample.org is
    # bomb@example.org). Address changes asked on the preferences page, per subscription and per new
    # address, in a sliding day.
    signup_per_ip_per_hour: int = Field(default=10, ge=1)
    signup_per_address_per_hour: int = Field(default=3, ge=1)
    change_email_per_subscriber_per_day: int = Field(default=3, ge=1)
    change_email_per_address_per_day: int = Field(default=3, ge=1)
    # An unconfirmed sign-up (or address change) expires after this many hours.
    confirm_expiry_hours: int = Field(default=48, ge=1)
    # The longest pause a subscriber may choose on the preferences page.
    max_pause_weeks: int = Field(default=12, ge=1)
    # Editor desk (/desk): how long a sign-in lasts, and the brute-force lockout. After
    # login_max_failures wrong passwords in a row from one client (IPv4, IPv6 /64) stop that client for
    # login_lockout_minutes, doubling with each further failure (at most a day); the account is then locked
    # only for clients that tried it lately (README: sign-in lockout). One client IP gets
    # login_per_ip_per_hour tries.
    session_hours: int = Field(default=12, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    login_per_ip_per_hour: int = Field(default=30, ge=1)
    # Let admins add sources on the desk that fetch from loopback, private and link-local addresses
    # (refused by default: SSRF protection, as sources.<name>.allow_private_addresses is for TOML ones).
    desk_private_sources: bool = False
    # REST API (/api/v1): requests allowed per token in a sliding minute (429 with Retry-After beyond).
    api_requests_per_minute: int = Field(default=120, ge=1)
    # Bearer token that GET /metrics asks for (Authorization: Bearer ...); from DISTRO_WEB__METRICS_TOKEN
    # only. Unset: /metrics answers anyone, so keep it off the public side of the proxy.
    metrics_token: SecretStr | None = None
    # Addresses (IPs or networks, "*" for any) of the proxies whose X-Forwarded-For / -Proto are believed.
    # Empty (the default): nobody's, so the client address is the TCP peer's and a client cannot choose
    # its own rate-limit bucket. Set it to the TLS proxy's address, e.g. ["127.0.0.1"].
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _split_ips(cls, value: Any) -> Any:
        return _listed(value)

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f'{entry!r} is not an IP address or network (or "*")') from None
        return value


DEFAULT_BATCH_SIZE = 200  # rows per claim: each claim is a commit (and a WAL flush on PostgreSQL)


class DispatchSettings(_Section):
    # Unset, it is lowered to what a throttle sends in half a lease; a value given that cannot is refused.
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1)
    lease_seconds: int = 300
    max_attempts: int = 8
    backoff_base_seconds: float = 30.0
    backoff_max_seconds: float = 6 * 3600.0
    # Stop claiming a channel's rows for this run after this many consecutive failures.
    pause_after_errors: int = 10
    # Sender threads per channel in `distro worker`/dispatch, each with its own channel (SMTP connection).
    workers_per_channel: int = Field(default=1, ge=1, le=64)
    # Throttles (messages per second; 0 = unlimited): over all recipients, and per recipient domain.
    max_per_second: float = Field(default=0.0, ge=0)
    max_per_second_per_domain: float = Field(default=0.0, ge=0)
    # Hard bounces (recipient refused with 5xx at RCPT) after which an address is suppressed.
    hard_bounce_limit: int = Field(default=1, ge=1)
    # How long `distro worker` sleeps when nothing is due.
    idle_seconds: float = Field(default=5.0, gt=0)
    # Group commits: outcomes are recorded within this many seconds, or as soon as this many wait,
    # whichever comes first (a worker killed outright leaves at most these unrecorded, plus one message
    # in flight per connection). The lease is renewed every third of lease_seconds while a batch is sent.
    # record_before_next_send: a connection sends its next message only once its last outcome is
    # recorded, so a crash leaves only the message on the wire (about half the throughput).
    record_every_seconds: float = Field(default=0.1, gt=0, le=5)
    record_every_messages: int = Field(default=32, ge=1, le=1000)
    record_before_next_send: bool = False

    @property
    def slowest_rate(self) -> float | None:
        """The tighter of the two throttles in messages per second, or None when neither is on."""
        rates = [r for r in (self.max_per_second, self.max_per_second_per_domain) if r > 0]
        return min(rates) if rates else None

    @model_validator(mode="after")
    def _batch_within_half_a_lease(self) -> DispatchSettings:
        rate = self.slowest_rate
        if rate is not None and "batch_size" not in self.model_fields_set:
            self.batch_size = max(1, min(DEFAULT_BATCH_SIZE, int(rate * self.lease_seconds / 2)))
        return self


class SchedulerSettings(_Section):
    poll_minutes: int = 30
    dispatch_seconds: int = 30
    # A digest up to this late (service down at send time) still goes once; later, the editor is told.
    digest_grace_minutes: int = 360
    standby_poll_seconds: float = 5.0


class SourceSettings(_Section):
    name: str
    url: str
    kind: Literal["feed", "wordpress", "page"] = "feed"
    user_agent: str | None = None
    # Extra request headers (e.g. Accept-Language). Credential headers (Authorization, Cookie, API keys)
    # are refused here: give them in DISTRO_SOURCE_HEADERS, which fills secret_headers.
    headers: dict[str, str] = Field(default_factory=dict)
    secret_headers: dict[str, SecretStr] = Field(default_factory=dict)
    timeout: float = 20.0
    max_bytes: int = 20 * 1024 * 1024
    # On the first poll, how many of the newest items count as new; the rest are back catalogue.
    backfill: int = Field(default=0, ge=0)
    # Fetch from loopback, private and link-local addresses (refused by default: SSRF protection).
    allow_private_addresses: bool = False

    def request_headers(self) -> dict[str, str]:
        """The extra headers to send, secret ones included (for the request only: never log this)."""
        return {**self.headers, **{k: v.get_secret_value() for k, v in self.secret_headers.items()}}
