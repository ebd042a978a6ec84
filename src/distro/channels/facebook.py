"""Post to a Facebook Page through the Graph API (``POST /{graph_version}/{page_id}/feed``, or
``/{page_id}/photos`` for a photo post made by :func:`~distro.platforms.facebook.build_photo_body`).

The request goes through requests-oauthlib's ``OAuth2Session`` holding the Page access token as a bearer
token, so the token travels in the ``Authorization`` header and never in a URL. The body is sent as JSON,
which the Graph API accepts alongside form encoding; JSON keeps the request body byte-for-byte the
:func:`distro.platforms.facebook.build_body` dict that the file sink writes. ``appsecret_proof`` (hex
HMAC-SHA256 of the token keyed with the app secret) goes in the query string, as Meta documents it: it is
authentication, not content, and is useless without the token.

Errors, by Graph error ``code`` first and HTTP status second:
    4, 17, 32, 613, 80001     RateLimited(pause_account=True), for Graph's regain time (else 300s)
    368 (e.g. 1390008)        RateLimited(pause_account=True) for at least an hour: a temporary block
    190                       ChannelFailure: the Page token expired or was revoked, re-authorise
    506                       PermanentFailure("duplicate post ..."), unless a retry finds the post
    1, 2, is_transient, 5xx   TemporaryFailure
    other 4xx                 PermanentFailure with the API's message
    timeouts, connection      TemporaryFailure

Throttling and blocks are the Page's or the app's, never one post's, so they pause the whole account. The
regain time is the longest ``estimated_time_to_regain_access`` (minutes) in ``X-Business-Use-Case-Usage``,
``X-Page-Usage`` or ``X-App-Usage``; without one, five minutes: the cost of guessing short is one refused
call, of guessing long a queue held back for nothing. A 368 ("going too fast", "temporarily blocked") lifts
on its own but Graph names no end, so the account waits an hour between tries; the usage headers measure
calls, not the block, so they can only lengthen that. The cool-down this channel starts itself when usage
nears the limit pauses the account too.

A retry (``SocialOut.attempt > 1``) first reads ``GET /{page_id}/feed?fields=message,link,created_time``:
when the earlier try's answer was lost after Graph published the post, that post is recorded as sent
instead of being published twice. The feed can lag behind a post just published, so a retry that Graph
refuses as a duplicate (506) reads it once more and records the post it finds; only when it is still not
there (or on a first try) is the duplicate a failure.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests
from requests_oauthlib import OAuth2Session

from distro.channels._credentials import quiet_credential_logs
from distro.channels.base import Receipt, SocialOut
from distro.errors import (
    ChannelFailure,
    ConfigError,
    DeliveryError,
    PermanentFailure,
    RateLimited,
    TemporaryFailure,
)
from distro.platforms.facebook import LIMIT, build_body, build_photo_body
from distro.settings import FacebookSettings

GRAPH_URL = "https://graph.facebook.com"
RECENT_POSTS = 25  # how many of the Page's latest posts a retry looks through for its own post
log = logging.getLogger(__name__)
DEFAULT_RETRY_AFTER = 300.0  # when a throttle reply carries no usage header to go by
BLOCK_RETRY_AFTER = 3600.0  # a 368 temporary block has no stated end: try once an hour
SLOW_DOWN_PERCENT = 90.0  # usage headers report percentages of the rolling one-hour allowance
SLOW_DOWN_SECONDS = 60.0
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001})  # app, user, page, custom, Page business use case
BLOCKED_CODE = 368  # "temporarily blocked for policies violations": wait and retry, as Meta advises
DUPLICATE_CODE = 506
TRANSIENT_CODES = frozenset({1, 2})  # unknown error, service temporarily unavailable
_USAGE_HEADERS = ("x-business-use-case-usage", "x-page-usage", "x-app-usage")


def appsecret_proof(app_secret: str, access_token: str) -> str:
    """Hex HMAC-SHA256 of the access token keyed with the app secret, as the Graph API expects."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


class FacebookChannel:
    """Sends :class:`SocialOut` bodies made by the platform's ``build_body`` to one Page; returns the post id.

    ``session`` may be supplied (e.g. with a transport adapter mounted); the channel gives it the Page
    token from ``settings`` either way, so the settings stay the one source of credentials.
    """

    name = "facebook"
    max_length = LIMIT

    def __init__(self, settings: FacebookSettings, *, session: OAuth2Session | None = None) -> None:
        if settings.page_access_token is None or not settings.page_access_token.get_secret_value():
            raise ConfigError(
                "Facebook is in API mode but DISTRO_FACEBOOK__PAGE_ACCESS_TOKEN is not set; set it to a "
                "long-lived Page access token for page "
                f"{settings.page_id} (and DISTRO_FACEBOOK__APP_SECRET), or set facebook.mode = 'file'"
            )
        if not settings.page_id or not settings.graph_version:
            raise ConfigError("facebook.page_id and facebook.graph_version must not be empty")
        token = settings.page_access_token.get_secret_value()
        app_secret = settings.app_secret.get_secret_value() if settings.app_secret is not None else ""
        self._secrets = tuple(s for s in (token, app_secret) if s)
        self._timeout = settings.timeout
        page = f"{GRAPH_URL}/{quote(settings.graph_version)}/{quote(settings.page_id)}"
        self._url, self._photos_url = f"{page}/feed", f"{page}/photos"
        self._params = {"appsecret_proof": appsecret_proof(app_secret, token)} if app_secret else {}
        self.session = session if session is not None else OAuth2Session()
        self.session.token = {"access_token": token, "token_type": "Bearer"}
        self._cool_until, self._usage = 0.0, 0.0
        quiet_credential_logs()

    def send(self, message: SocialOut) -> Receipt:
        waiting = self._cool_until - time.monotonic()
        if waiting > 0:  # usage was near the limit: let the window drain instead of hitting code 4/32
            raise RateLimited(
                f"Facebook usage reached {self._usage:.0f}% of the limit; "
                f"waiting {waiting:.0f}s before posting",
                retry_after=waiting,
                pause_account=True,
            )
        body = _checked_body(message)
        text = body["caption"] if "url" in body else body["message"]
        if message.attempt > 1:  # an earlier try may have posted before its answer was lost
            found = self._recent_post_id(text)
            if found is not None:
                return Receipt(
                    provider_id=found, detail="already posted: found among the Page's recent posts"
                )
        return self._publish(body, text, retry=message.attempt > 1)

    def _publish(self, body: dict[str, Any], text: str, *, retry: bool) -> Receipt:
        """POST the feed (or photo) body; on a retry a duplicate refusal is checked against the feed."""
        photo = "url" in body
        response = self._exchange("POST", self._photos_url if photo else self._url, json=body)
        if not response.ok:
            if retry and _error_code(response) == DUPLICATE_CODE:
                # Graph has the post but the feed read before it had not caught up yet: read it again.
                found = self._recent_post_id(text)
                if found is not None:
                    detail = "refused as a duplicate, then found among the Page's recent posts"
                    return Receipt(provider_id=found, detail=f"already posted: {detail}")
            raise self._failure(response)
        answer = _json_object(response)
        post_id = answer.get("post_id") if photo else answer.get("id")  # a photo's post, not the photo
        if not post_id:
            raise PermanentFailure(
                f"Facebook answered {response.status_code} without a post id; "
                "check the Page before re-sending"
            )
        return Receipt(provider_id=str(post_id))

    def _recent_post_id(self, text: str) -> str | None:
        """The id of one of the Page's latest posts whose message is ``text``, or None.

        Graph refuses a repeated message (506), so the message alone identifies the post; the link is not
        compared because Graph may return it rewritten.
        """
        fields = {"fields": "message,link,created_time", "limit": str(RECENT_POSTS)}
        response = self._request("GET", self._url, params=fields)
        posts = _json_object(response).get("data")
        for post in posts if isinstance(posts, list) else ():
            if isinstance(post, Mapping) and post.get("message") == text and post.get("id"):
                return str(post["id"])
        return None

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One Graph call with the proof and the timeout; any failure mapped to a delivery error."""
        response = self._exchange(method, url, **kwargs)
        if not response.ok:
            raise self._failure(response)
        return response

    def _exchange(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One Graph call with the proof and the timeout: Graph's answer, whatever its status.

        Only a failure to get an answer is raised here (mapped to a delivery error).
        """
        params = {**self._params, **kwargs.pop("params", {})}
        try:
            response: requests.Response = self.session.request(
                method, url, params=params, timeout=self._timeout, **kwargs
            )
        except requests.Timeout as exc:
            raise TemporaryFailure(
                f"the Facebook Graph API did not answer within {self._timeout:g}s ({type(exc).__name__})"
            ) from exc
        except requests.RequestException as exc:  # the URL (with its proof) is left out on purpose
            raise TemporaryFailure(f"could not reach the Facebook Graph API ({type(exc).__name__})") from exc
        if response.ok:
            self._note_usage(response.headers)
        return response

    def _note_usage(self, headers: Mapping[str, str]) -> None:
        """Slow down before Graph's limit is hit: at :data:`SLOW_DOWN_PERCENT` of any usage figure, pause."""
        usage = max((p for name in _USAGE_HEADERS for p in _usage_percents(headers.get(name))), default=0.0)
        if usage >= SLOW_DOWN_PERCENT:
            regain = max(_regain_minutes_of(headers), default=0.0) * 60.0
            pause = max(regain, DEFAULT_RETRY_AFTER if usage >= 100 else SLOW_DOWN_SECONDS)
            self._cool_until, self._usage = time.monotonic() + pause, usage
            log.warning("Facebook usage at %.0f%% of the limit: pausing posts for %.0fs", usage, pause)

    def close(self) -> None:
        self.session.close()

    def _failure(self, response: requests.Response) -> DeliveryError:
        error = _json_object(response).get("error")
        error = error if isinstance(error, Mapping) else {}
        code = error.get("code")
        status = response.status_code
        where = f"HTTP {status}" + (f", code {code}" if code is not None else "")
        if error.get("error_subcode") is not None:
            where += f"/{error['error_subcode']}"
        text = self._redact(_error_text(error) or f"{status} {response.reason}")
        if code in RATE_LIMIT_CODES:
            retry_after = _regain_seconds(response.headers)
            return RateLimited(
                f"Facebook rate limit reached ({where}): {text}; the account pauses {retry_after:.0f}s",
                retry_after=retry_after,
                pause_account=True,
            )
        if code == BLOCKED_CODE:
            retry_after = max(BLOCK_RETRY_AFTER, _regain_seconds(response.headers))
            return RateLimited(
                f"Facebook temporarily blocked posting ({where}): {text}; "
                f"the account pauses {retry_after:.0f}s and the post is retried",
                retry_after=retry_after,
                pause_account=True,
            )
        if code == 190:
            return ChannelFailure(
                f"Facebook rejected the Page access token ({where}): {text}; the token expired or was "
                "revoked: re-authorise the Page and set DISTRO_FACEBOOK__PAGE_ACCESS_TOKEN to the new token"
            )
        if code == DUPLICATE_CODE:
            return PermanentFailure(f"duplicate post refused by Facebook ({where}): {text}")
        if status >= 500 or code in TRANSIENT_CODES or error.get("is_transient") is True:
            return TemporaryFailure(f"Facebook Graph API error, worth retrying ({where}): {text}")
        return PermanentFailure(f"Facebook rejected the post ({where}): {text}")

    def _redact(self, text: str) -> str:
        # Graph echoes a malformed token back in some messages; never pass a credential on.
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


def _checked_body(message: SocialOut) -> dict[str, Any]:
    body = message.body
    caption, image = body.get("caption"), body.get("url")
    web_image = isinstance(image, str) and image.startswith(("https://", "http://"))
    if (
        isinstance(caption, str)
        and caption.strip()
        and web_image
        and build_photo_body(caption, str(image)) == body
    ):
        return body
    text, link = body.get("message"), body.get("link")
    if (
        not isinstance(text, str)
        or not text.strip()
        or not isinstance(link, str | None)
        or build_body(text, link) != body
    ):
        raise PermanentFailure(
            f"post {message.key}: body is not one distro.platforms.facebook.build_body makes "
            f"(keys {sorted(body)}); re-plan the post"
        )
    return body


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:  # requests' JSONDecodeError is a ValueError
        return {}
    return data if isinstance(data, dict) else {}


def _error_code(response: requests.Response) -> Any:
    """The Graph error ``code`` of a failed answer, or None."""
    error = _json_object(response).get("error")
    return error.get("code") if isinstance(error, Mapping) else None


def _error_text(error: Mapping[str, Any]) -> str:
    """The API's message, plus the user-facing explanation Graph adds for some errors."""
    parts = [str(error[k]) for k in ("message", "error_user_title", "error_user_msg") if error.get(k)]
    return " - ".join(parts)


def _regain_seconds(headers: Mapping[str, str]) -> float:
    """Seconds until Graph says access comes back (usage headers, in minutes), else the default."""
    longest = max(_regain_minutes_of(headers), default=0.0)
    return longest * 60.0 if longest > 0 else DEFAULT_RETRY_AFTER


def _regain_minutes_of(headers: Mapping[str, str]) -> list[float]:
    """Every ``estimated_time_to_regain_access`` in the usage headers."""
    return [
        m
        for name in _USAGE_HEADERS
        for m in _figures(headers.get(name), ("estimated_time_to_regain_access",))
    ]


def _usage_percents(raw: str | None) -> list[float]:
    """``call_count``/``total_cputime``/``total_time`` percentages from one usage header."""
    return _figures(raw, ("call_count", "total_cputime", "total_time"))


def _figures(raw: str | None, keys: tuple[str, ...]) -> list[float]:
    """The numbers under ``keys`` in a usage header, in either of its shapes.

    ``X-Business-Use-Case-Usage`` maps ids to lists of entries; ``X-Page-Usage``/``X-App-Usage`` are one
    flat object. A header that is not JSON gives nothing.
    """
    try:
        usage = json.loads(raw) if raw else None
    except ValueError:
        return []
    if not isinstance(usage, dict):
        return []
    entries: list[Any] = [usage, *(e for v in usage.values() if isinstance(v, list) for e in v)]
    return [
        float(entry[key])
        for entry in entries
        if isinstance(entry, dict)
        for key in keys
        if isinstance(entry.get(key), int | float) and not isinstance(entry.get(key), bool)
    ]
