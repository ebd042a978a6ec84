"""Typed settings: ``config/distro.toml`` (or ``DISTRO_CONFIG``), overridden by ``DISTRO_*`` variables.

Nested keys use a double underscore: ``DISTRO_SMTP__HOST=mail.example.org``. Secrets (fields typed
``SecretStr``) are accepted from the environment only; a secret written in a TOML file is refused so it
cannot end up in version control. So are the secrets that hide in plain values: a password inside
``database_url`` or a source's ``url``, and a credential header (``Authorization``, ``Cookie``, an API key)
in ``sources.*.headers``; such headers come from ``DISTRO_SOURCE_HEADERS`` instead. Nothing here runs at
import time: the composition root calls :func:`load_settings` once and passes the result down.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from distro.errors import ConfigError
from distro.settings.files import TomlData, read_config_file, reject_file_secrets
from distro.settings.sections import (
    DEFAULT_CONFIG,
    NEWSLETTER_PREFIX,
    SECRET_HEADER,
    BouncesSettings,
    DigestSettings,
    DispatchSettings,
    EmailSettings,
    NewsletterSettings,
    PublicationSettings,
    SchedulerSettings,
    SmtpSettings,
    SourceSettings,
    TrackingSettings,
    WebSettings,
    _listed,
)
from distro.settings.social import (
    ACCOUNT_NAME,
    BlueskySettings,
    FacebookSettings,
    LinkedInSettings,
    MastodonSettings,
    PostingPlan,
    SocialAccountSettings,
    SocialSettings,
    ThreadsSettings,
    XSettings,
)
from distro.settings.webhooks import Webhooks, WebhookSettings

__all__ = [
    "ACCOUNT_NAME",
    "DEFAULT_CONFIG",
    "NEWSLETTER_PREFIX",
    "SECRET_HEADER",
    "BlueskySettings",
    "DigestSettings",
    "DispatchSettings",
    "EmailSettings",
    "FacebookSettings",
    "LinkedInSettings",
    "MastodonSettings",
    "NewsletterSettings",
    "PostingPlan",
    "PublicationSettings",
    "SchedulerSettings",
    "Settings",
    "BouncesSettings",
    "SmtpSettings",
    "TrackingSettings",
    "SocialAccountSettings",
    "SocialSettings",
    "SourceSettings",
    "ThreadsSettings",
    "WebSettings",
    "WebhookSettings",
    "XSettings",
    "load_settings",
    "read_config_file",
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DISTRO_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    database_url: str = "sqlite:///var/distro.db"
    var_dir: Path = Path("var")
    templates_dir: Path = Path("templates")
    # Signs unsubscribe tokens. From DISTRO_SECRET_KEY; if unset, a key is generated once in var_dir.
    secret_key: SecretStr | None = None
    # Keys that signed earlier links, still accepted when a link is checked (never used to sign), so a
    # rotated DISTRO_SECRET_KEY leaves the unsubscribe links in old emails working. From
    # DISTRO_SECRET_KEY_PREVIOUS: a JSON array or comma-separated keys, newest first.
    secret_key_previous: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    user_agent: str = "distro/0.1 (+https://github.com/distro-newsletter/distro)"
    # Fernet key that encrypts stored OAuth tokens (DISTRO_TOKEN_KEY); tokens are refused without it.
    token_key: SecretStr | None = None

    publication: PublicationSettings = Field(default_factory=PublicationSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    bounces: BouncesSettings = Field(default_factory=BouncesSettings)
    x: XSettings = Field(default_factory=XSettings)
    facebook: FacebookSettings = Field(default_factory=FacebookSettings)
    mastodon: MastodonSettings = Field(default_factory=MastodonSettings)
    bluesky: BlueskySettings = Field(default_factory=BlueskySettings)
    threads: ThreadsSettings = Field(default_factory=ThreadsSettings)
    linkedin: LinkedInSettings = Field(default_factory=LinkedInSettings)
    social: SocialSettings = Field(default_factory=SocialSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    dispatch: DispatchSettings = Field(default_factory=DispatchSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    sources: list[SourceSettings] = Field(default_factory=list)
    # More newsletters beside [digest] (e.g. a daily Security brief), each with its own schedule and list.
    newsletters: list[NewsletterSettings] = Field(default_factory=list)
    webhooks: Webhooks = Field(default_factory=list)  # [[webhooks]], distro.settings.webhooks
    # Credential headers per source name, from DISTRO_SOURCE_HEADERS only (JSON), e.g.
    # {"private-feed": {"Authorization": "Bearer ..."}}; they become that source's secret_headers.
    source_headers: dict[str, dict[str, SecretStr]] = Field(default_factory=dict)

    @field_validator("secret_key_previous", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        return _listed(value)

    @model_validator(mode="after")
    def _attach_source_headers(self) -> Settings:
        names = {source.name for source in self.sources}
        unknown = sorted(set(self.source_headers) - names)
        if unknown:
            raise ValueError(
                f"source_headers names {', '.join(unknown)}, which no [[sources]] entry is called; "
                f"sources: {', '.join(sorted(names)) or 'none'}"
            )
        for source in self.sources:
            extra = self.source_headers.get(source.name)
            if extra:
                source.secret_headers = {**source.secret_headers, **extra}
        return self

    @model_validator(mode="after")
    def _distinct_newsletters(self) -> Settings:
        prefixes = [n.slug_prefix for n in self.all_newsletters]
        doubled = sorted({p for p in prefixes if prefixes.count(p) > 1})
        if doubled:
            raise ValueError(f"newsletters: slug_prefix {', '.join(doubled)} is used twice")
        return self

    @property
    def all_newsletters(self) -> list[DigestSettings]:
        """The main digest first, then the further newsletters in configuration order."""
        return [self.digest, *self.newsletters]

    def newsletter(self, prefix: str | None) -> DigestSettings:
        """The newsletter with this slug prefix (None: the main digest); ConfigError if unknown."""
        for newsletter in self.all_newsletters:
            if prefix is None or newsletter.slug_prefix == prefix:
                return newsletter
        known = ", ".join(n.slug_prefix for n in self.all_newsletters)
        raise ConfigError(f"unknown newsletter {prefix!r}; configured: {known}")

    def list_id_of(self, newsletter: DigestSettings) -> str:
        """The newsletter's List-Id: ``email.list_id`` for the main digest; for another its own
        ``list_id``, else the main one with its prefix in front (weekly.example.org -> security.example.org).
        """
        if newsletter.slug_prefix == self.digest.slug_prefix:
            return self.email.list_id
        _, _, domain = self.email.list_id.partition(".")
        return newsletter.list_id or f"{newsletter.slug_prefix}.{domain or self.email.list_id}"

    @property
    def email_dir(self) -> Path:
        return self.var_dir / "outbox" / "email"

    @property
    def social_dir(self) -> Path:
        return self.var_dir / "outbox" / "social"


def load_settings(config_file: Path | None = None) -> Settings:
    """Read the TOML file, apply ``DISTRO_*`` overrides, validate, and return the settings.

    The file is ``config_file``, else ``$DISTRO_CONFIG``, else ``config/distro.toml`` when it exists.
    """
    chosen = config_file or (Path(os.environ["DISTRO_CONFIG"]) if os.environ.get("DISTRO_CONFIG") else None)
    if chosen is None and DEFAULT_CONFIG.exists():
        chosen = DEFAULT_CONFIG
    data: dict[str, Any] = {}
    if chosen is not None:
        data = read_config_file(chosen)
        reject_file_secrets(data, chosen, Settings)

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, TomlData(settings_cls, data))

    try:
        loaded = _Loaded()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_input=False)
        )
        raise ConfigError(f"invalid settings ({chosen or 'defaults'}): {problems}") from None
    return Settings.model_construct(**{name: getattr(loaded, name) for name in Settings.model_fields})
