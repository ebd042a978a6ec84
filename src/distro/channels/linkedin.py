"""Post to a LinkedIn organisation page through the versioned Posts API (``POST /rest/posts``).

Every call carries ``Authorization: Bearer``, ``LinkedIn-Version: <linkedin.linkedin_version>`` (LinkedIn
applies no default version) and ``X-Restli-Protocol-Version: 2.0.0``. The body is
:func:`distro.platforms.linkedin.build_body`'s, byte for byte what the file sink writes; LinkedIn answers
201 with the new post's URN in the ``x-restli-id`` header.

A retry (``SocialOut.attempt > 1``) first reads the page's latest posts (``GET /rest/posts?author=<urn>
&q=author&count=10``, a Rest.li FINDER) and records a post with the same commentary and article as sent,
so a lost answer never becomes two posts. LinkedIn refuses a repeated post (422 "Content is a duplicate
of urn:li:share:..."): on a retry that refusal names the first post, which is recorded as sent.

Errors:
    401            ChannelFailure: the token expired or was revoked, run ``distro auth linkedin``
    403            ChannelFailure: no w_organization_social, or no admin role on the page
    426            ChannelFailure: the LinkedIn-Version is no longer served; set linkedin.linkedin_version
    429            RateLimited(pause_account=True) until Retry-After, else midnight UTC (LinkedIn's daily
                   limits reset then)
    400, 422       PermanentFailure naming the refused field(s) and LinkedIn's words
    5xx, timeouts  TemporaryFailure
Access tokens last 60 days: :meth:`LinkedInChannel.refresh` trades the refresh token for a fresh one
(``POST https://www.linkedin.com/oauth/v2/accessToken``, ``grant_type=refresh_token``); refresh tokens last
a year from the first authorisation and are not extended (:mod:`distro.channels.tokens` warns in time).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from distro.channels.base import Receipt, SocialOut
from distro.channels.tokens import AccountToken
from distro.errors import (
    ChannelFailure,
    ConfigError,
    DeliveryError,
    PermanentFailure,
    RateLimited,
    TemporaryFailure,
)
from distro.platforms.linkedin import LIMIT, author_urn, link_of
from distro.settings import LinkedInSettings

API_URL = "https://api.linkedin.com/rest"
TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
RECENT_POSTS = 10
BODY_KEYS = frozenset(
    {
        "author",
        "commentary",
        "visibility",
        "distribution",
        "content",
        "lifecycleState",
        "isReshareDisabledByAuthor",
    }
)
_POST_URN = re.compile(r"urn:li:(?:share|ugcPost):\d+")
_FIELD = re.compile(r"(?<![\w/])(/[A-Za-z][\w/]*)")


class LinkedInChannel:
    """Sends organisation posts for one page (``organization_id``); returns the post's URN."""

    name = "linkedin"
    max_length = LIMIT

    def __init__(
        self, settings: LinkedInSettings, token: AccountToken, *, session: requests.Session | None = None
    ) -> None:
        if not token.access_token:
            raise ConfigError(
                "LinkedIn is in API mode but the account has no stored token; run `distro auth linkedin` "
                "(with DISTRO_TOKEN_KEY set), or set linkedin.mode = 'file'"
            )
        self.token = token
        self.author = author_urn(settings.organization_id)
        self.version = settings.linkedin_version
        secret = settings.client_secret.get_secret_value() if settings.client_secret is not None else ""
        self._client = (settings.client_id or "", secret)
        self._timeout = settings.timeout
        self.session = session if session is not None else requests.Session()

    def send(self, message: SocialOut) -> Receipt:
        body = self._checked_body(message)
        retry = message.attempt > 1
        if retry:  # an earlier try may have posted before its answer was lost
            found = self._published(body)
            if found is not None:
                return Receipt(provider_id=found, detail="already posted: found among the page's posts")
        response = self._exchange("POST", f"{API_URL}/posts", json=body, headers=self._headers())
        if response.status_code == 201 and response.headers.get("x-restli-id"):
            return Receipt(provider_id=response.headers["x-restli-id"])
        if response.ok:
            raise PermanentFailure(
                f"LinkedIn answered {response.status_code} without the post's id; check the page before "
                "re-sending"
            )
        duplicate = _POST_URN.search(_message(response)) if response.status_code == 422 else None
        if retry and duplicate and "duplicate" in _message(response).lower():
            return Receipt(provider_id=duplicate[0], detail="already posted: LinkedIn named it a duplicate")
        raise self._failure(response)

    def refresh(self) -> AccountToken:
        """A fresh access token from the refresh token; its refresh token keeps its first end."""
        client_id, secret = self._client
        if not self.token.refresh_token:
            raise PermanentFailure("the account has no refresh token (LinkedIn gives them to approved apps)")
        self.token = exchange_refresh_token(
            self.session,
            refresh_token=self.token.refresh_token,
            client=(client_id, secret),
            timeout=self._timeout,
            refresh_ends=self.token.refresh_expires_at,
        )
        return self.token

    def check_access(self) -> None:
        """Read the page's latest posts, as a retry does: raises the delivery error a refusal maps to."""
        self._recent()

    def close(self) -> None:
        self.session.close()

    def _headers(self, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token.access_token}",
            "LinkedIn-Version": self.version,
            "X-Restli-Protocol-Version": "2.0.0",
            **extra,
        }

    def _checked_body(self, message: SocialOut) -> dict[str, Any]:
        body = message.body
        commentary = body.get("commentary")
        if set(body) - BODY_KEYS or not isinstance(commentary, str) or not commentary.strip():
            raise PermanentFailure(
                f"post {message.key}: body is not one distro.platforms.linkedin.build_body makes "
                f"(keys {sorted(body)}); re-plan the post"
            )
        if body.get("author") != self.author:
            raise PermanentFailure(
                f"post {message.key} was planned for {body.get('author')}, not this account's {self.author}; "
                "re-plan the post"
            )
        if len(commentary) > LIMIT:
            raise PermanentFailure(
                f"post {message.key}: the text is {len(commentary)} long as LinkedIn counts it; "
                f"the limit is {LIMIT}"
            )
        return body

    def _published(self, body: dict[str, Any]) -> str | None:
        """The URN of one of the page's latest posts with this commentary and article, or None."""
        for post in self._recent():
            same = post.get("commentary") == body["commentary"] and link_of(post) == link_of(body)
            if same and post.get("id"):
                return str(post["id"])
        return None

    def _recent(self) -> list[dict[str, Any]]:
        """The page's latest posts, newest first (a Rest.li FINDER on the author)."""
        params = {"author": self.author, "q": "author", "count": str(RECENT_POSTS)}
        headers = self._headers(**{"X-RestLi-Method": "FINDER"})
        response = self._exchange("GET", f"{API_URL}/posts", params=params, headers=headers)
        if not response.ok:
            raise self._failure(response)
        posts = _json_object(response).get("elements")
        return [post for post in posts if isinstance(post, dict)] if isinstance(posts, list) else []

    def _exchange(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.Timeout as exc:
            raise TemporaryFailure(
                f"LinkedIn did not answer within {self._timeout:g}s ({type(exc).__name__}); the retry looks "
                "for the post first"
            ) from exc
        except requests.RequestException as exc:
            raise TemporaryFailure(f"could not reach LinkedIn ({type(exc).__name__})") from exc

    def _failure(self, response: requests.Response) -> DeliveryError:
        status = response.status_code
        answer = _json_object(response)
        words = self._redact(_message(response) or response.reason)
        code = answer.get("serviceErrorCode") or answer.get("code")
        where = f"HTTP {status}" + (f", {code}" if code else "")
        if status == 401:
            return ChannelFailure(
                f"LinkedIn refused the access token of {self.name} ({where}: {words}); it expired or was "
                "revoked: run `distro auth linkedin` for the account"
            )
        if status == 403:
            return ChannelFailure(
                f"LinkedIn does not let {self.name} post as {self.author} ({where}: {words}); the token "
                "needs w_organization_social (and r_organization_social) and an administrator or content "
                "admin role on the page"
            )
        if status == 426:
            return ChannelFailure(
                f"LinkedIn no longer serves LinkedIn-Version {self.version} ({where}: {words}); set "
                "linkedin.linkedin_version to a current YYYYMM"
            )
        if status == 429:
            wait = _retry_after(response.headers)
            return RateLimited(
                f"LinkedIn rate limit reached ({where}: {words}); the account pauses {wait:.0f}s",
                retry_after=wait,
                pause_account=True,
            )
        if status >= 500:
            return TemporaryFailure(f"LinkedIn error, worth retrying ({where}: {words})")
        fields = _fields(answer, words)
        named = f" ({', '.join(fields)})" if fields else ""
        return PermanentFailure(f"LinkedIn refused the post{named} ({where}: {words})")

    def _redact(self, text: str) -> str:
        for secret in (self.token.access_token, self.token.refresh_token, self._client[1]):
            if secret:
                text = text.replace(secret, "[redacted]")
        return text


def exchange_refresh_token(
    session: requests.Session,
    *,
    refresh_token: str,
    client: tuple[str, str],
    timeout: float,
    refresh_ends: datetime | None = None,
) -> AccountToken:
    """``POST /oauth/v2/accessToken`` (``grant_type=refresh_token``): a fresh 60-day access token.

    The refresh token's end comes back as ``refresh_token_expires_in`` (else ``refresh_ends`` stays).
    PermanentFailure when LinkedIn refuses (a bad client, a revoked or ended refresh token), TemporaryFailure
    when it does not answer; neither message carries a credential.
    """
    client_id, secret = client
    if not client_id or not secret:
        raise PermanentFailure("set linkedin.client_id and DISTRO_LINKEDIN__CLIENT_SECRET to refresh tokens")
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
        "client_secret": secret,
    }
    try:
        response = session.request("POST", TOKEN_URL, data=form, timeout=timeout)
    except requests.RequestException as exc:
        raise TemporaryFailure(f"could not reach LinkedIn's token endpoint ({type(exc).__name__})") from exc
    answer = _json_object(response)
    if not response.ok:
        words = str(answer.get("error_description") or answer.get("error") or response.reason)
        for hidden in (refresh_token, secret):
            words = words.replace(hidden, "[redacted]")
        problem = f"LinkedIn refused the refresh (HTTP {response.status_code}: {words})"
        raise TemporaryFailure(problem) if response.status_code >= 500 else PermanentFailure(problem)
    fresh, lasts = answer.get("access_token"), answer.get("expires_in")
    if not isinstance(fresh, str) or not fresh or not isinstance(lasts, int | float):
        raise PermanentFailure("LinkedIn answered the refresh without an access token and its lifetime")
    now = datetime.now(UTC)
    refresh_lasts = answer.get("refresh_token_expires_in")
    if isinstance(refresh_lasts, int | float):
        refresh_ends = now + timedelta(seconds=float(refresh_lasts))
    kept = answer.get("refresh_token")
    return AccountToken(
        fresh, now + timedelta(seconds=float(lasts)), str(kept or refresh_token), refresh_ends
    )


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _message(response: requests.Response) -> str:
    message = _json_object(response).get("message")
    return message if isinstance(message, str) else ""


def _fields(answer: Mapping[str, Any], words: str) -> list[str]:
    """The body fields LinkedIn names as refused: ``errorDetails.inputErrors``, else those in its message."""
    details = answer.get("errorDetails")
    errors = details.get("inputErrors") if isinstance(details, dict) else None
    found: list[str] = []
    for error in errors if isinstance(errors, list) else ():
        path = (
            error.get("input", {}).get("inputPath", {}).get("fieldPath") if isinstance(error, dict) else None
        )
        if isinstance(path, str) and path not in found:
            found.append(path)
    return found or list(dict.fromkeys(_FIELD.findall(words)))


def _retry_after(headers: Mapping[str, str]) -> float:
    """Seconds from ``Retry-After``, else until the next midnight UTC, when LinkedIn's day resets."""
    value = headers.get("Retry-After")
    if value and value.strip().isdigit():
        return max(1.0, float(value))
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(60.0, (midnight - now).total_seconds())
