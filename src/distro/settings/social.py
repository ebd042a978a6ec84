"""The social platforms' sections: ``[x]``, ``[facebook]``, ``[mastodon]``, ``[bluesky]``, ``[threads]``,
``[linkedin]``, their extra ``[[<platform>.accounts]]``, posting plans, and ``[social]``.

A platform's own section is its first account; each ``accounts`` entry is one more (:mod:`distro.accounts`).
Tokens that expire (Threads, LinkedIn) are never settings: ``distro auth`` stores them encrypted, so the
refreshed token has somewhere to go; only app credentials (LinkedIn's client secret) come from the
environment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from distro.settings.sections import _Section

ACCOUNT_NAME = r"^[a-z0-9][a-z0-9_-]{0,10}$"  # short: "facebook:" + name must fit the channel column


class PostingPlan(_Section):
    """When an account's posts go out (distro.services.plan): at once, after a delay, or at the next slot.

    Defaults post immediately. ``quiet_start``/``quiet_end`` (HH:MM in ``timezone``) may cross midnight.
    """

    delay_minutes: int = Field(default=0, ge=0)
    max_per_hour: int | None = Field(default=None, ge=1)  # in any sliding hour
    min_spacing_minutes: int = Field(default=0, ge=0)
    quiet_start: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    quiet_end: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _quiet_pair(self) -> PostingPlan:
        if (self.quiet_start is None) != (self.quiet_end is None) or (
            self.quiet_start is not None and self.quiet_start == self.quiet_end
        ):
            raise ValueError("set both quiet_start and quiet_end (HH:MM, different), or neither")
        return self


class SocialAccountSettings(_Section):
    """One more account on a platform (the platform's own section is its first account)."""

    name: str = Field(pattern=ACCOUNT_NAME)
    mode: Literal["file", "api"] | None = None  # None: the platform's mode
    sections: list[str] | None = None  # None: every section
    page_id: str | None = None  # Facebook: the Page this account posts to
    organization_id: str | None = Field(default=None, pattern=r"^\d+$")  # LinkedIn: the page it posts as
    posting: PostingPlan = Field(default_factory=PostingPlan)


class XSettings(_Section):
    enabled: bool = True
    mode: Literal["file", "api"] = "file"
    account: str = "main"
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None
    timeout: float = 15.0
    sections: list[str] | None = None  # the first account's sections; None: every section
    thread: bool = False  # post a long summary as a reply thread instead of shortening it
    media: bool = False  # upload the article's og:image (with alt text) and attach it
    accounts: list[SocialAccountSettings] = Field(default_factory=list)
    posting: PostingPlan = Field(default_factory=PostingPlan)  # the first account's plan


class FacebookSettings(_Section):
    enabled: bool = True
    mode: Literal["file", "api"] = "file"
    page_id: str = "100000000000001"
    graph_version: str = "v25.0"
    page_access_token: SecretStr | None = None
    app_secret: SecretStr | None = None
    timeout: float = 15.0
    account: str = "page"
    sections: list[str] | None = None
    photo: bool = False  # post the og:image as a photo with the text as its caption
    app_id: str | None = None  # for `distro auth facebook`
    redirect_uri: str = "https://localhost/"  # `distro auth facebook`: a Valid OAuth Redirect URI of the app
    accounts: list[SocialAccountSettings] = Field(default_factory=list)
    posting: PostingPlan = Field(default_factory=PostingPlan)  # the first account's plan


class MastodonSettings(_Section):
    enabled: bool = False
    mode: Literal["file", "api"] = "file"
    account: str = "main"
    sections: list[str] | None = None
    instance_url: str = "https://mastodon.social"
    access_token: SecretStr | None = None
    max_length: int = 500  # the instance's limit; 500 unless the instance says otherwise
    visibility: Literal["public", "unlisted", "private"] = "public"
    timeout: float = 15.0
    accounts: list[SocialAccountSettings] = Field(default_factory=list)
    posting: PostingPlan = Field(default_factory=PostingPlan)  # the first account's plan


class BlueskySettings(_Section):
    enabled: bool = False
    mode: Literal["file", "api"] = "file"
    account: str = "main"
    sections: list[str] | None = None
    service_url: str = "https://bsky.social"
    handle: str | None = None
    app_password: SecretStr | None = None
    timeout: float = 15.0
    accounts: list[SocialAccountSettings] = Field(default_factory=list)
    posting: PostingPlan = Field(default_factory=PostingPlan)  # the first account's plan


class ThreadsSettings(_Section):
    """Threads profiles (graph.threads.net). Tokens come from ``distro auth threads``, never from here."""

    enabled: bool = False
    mode: Literal["file", "api"] = "file"
    account: str = "main"
    sections: list[str] | None = None
    api_version: str = Field(default="v1.0", pattern=r"^v\d+\.\d+$")  # the path's version
    timeout: float = 15.0
    # Refresh a long-lived token (60 days) when it expires within this many days; a refresh that fails
    # pauses the account with the reason on the desk and in `distro accounts list`, before the token ends.
    refresh_days: int = Field(default=7, ge=1, le=50)
    accounts: list[SocialAccountSettings] = Field(default_factory=list)
    posting: PostingPlan = Field(default_factory=PostingPlan)  # the first account's plan


class LinkedInSettings(_Section):
    """LinkedIn organisation pages (the versioned Posts API). Tokens come from ``distro auth linkedin``."""

    enabled: bool = False
    mode: Literal["file", "api"] = "file"
    account: str = "page"
    sections: list[str] | None = None
    organization_id: str = Field(default="100000001", pattern=r"^\d+$")  # the first account's page
    # The Posts API's LinkedIn-Version header (YYYYMM); LinkedIn supports each monthly version for a year.
    linkedin_version: str = Field(default="202607", pattern=r"^20\d{2}(0[1-9]|1[0-2])$")
    client_id: str | None = None  # the LinkedIn app, to refresh tokens
    client_secret: SecretStr | None = None  # DISTRO_LINKEDIN__CLIENT_SECRET
    timeout: float = 15.0
    refresh_days: int = Field(default=7, ge=1, le=50)  # as [threads] refresh_days; access tokens last 60 days
    accounts: list[SocialAccountSettings] = Field(default_factory=list)
    posting: PostingPlan = Field(default_factory=PostingPlan)  # the first account's plan


class SocialSettings(_Section):
    # Hashtags added per article section; a template social/<platform>.<Section>.txt.j2 overrides more.
    hashtags: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "Security": ["#Security"],
            "Geopolitics": ["#Geopolitics"],
            "Economy": ["#Economy"],
        }
    )
