"""Post to a Threads profile through Meta's Threads API (``graph.threads.net/{api_version}``).

Publishing is Meta's two steps: ``POST /{threads-user-id}/threads`` makes a text container from the
:func:`distro.platforms.threads.build_body` parameters, ``POST /{threads-user-id}/threads_publish`` with
its ``creation_id`` publishes it. The access token travels as the ``access_token`` parameter, as Meta's
Threads documentation shows every call (in the form body of a POST, the query of a GET); it never reaches
an error message or a log line of ours (:mod:`distro.logs` also redacts ``access_token=`` in URLs).

Before publishing, ``GET /{id}/threads_publishing_limit`` (``quota_usage``, ``config.quota_total``,
``config.quota_duration``): a profile may publish 250 posts through the API in a moving 24 hours. At the
limit the account pauses until the oldest post of the window leaves it (read from the profile's posts
since the window began), so no worker spends the day being refused.

A retry (``SocialOut.attempt > 1``) first looks for the post among the profile's recent posts
(``GET /{id}/threads?fields=id,text,timestamp``): when an earlier try published it and the answer was lost,
that post is recorded as sent instead of published twice. Threads refuses no repeated text, so this check
is the only guard; the text (which carries the article link) identifies the post.

Errors, by Graph error ``code`` first and HTTP status second:
    190                        ChannelFailure: the token expired or was revoked, run ``distro auth threads``
    10, 200-299                ChannelFailure: the token lacks threads_basic / threads_content_publish
    4, 17, 32, 613, HTTP 429   RateLimited(pause_account=True)
    1, 2, is_transient, 5xx    TemporaryFailure
    other 4xx                  PermanentFailure with Threads' message
    timeouts, connection       TemporaryFailure
Tokens expire after 60 days: :meth:`ThreadsChannel.refresh` trades the token for a fresh one
(``GET /refresh_access_token?grant_type=th_refresh_token``); :mod:`distro.channels.tokens` decides when.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

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
from distro.platforms.threads import LIMIT, MEDIA_TYPE, problem
from distro.settings import ThreadsSettings

GRAPH_URL = "https://graph.threads.net"
RECENT_POSTS = 25  # how many of the profile's latest posts a retry looks through for its own
WINDOW_PAGES = 3  # pages of 100 posts read to find when the publishing window frees (250 at most)
DEFAULT_RETRY_AFTER = 300.0
QUOTA_RETRY_AFTER = 3600.0  # at the publishing limit but the window's oldest post cannot be read
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
TRANSIENT_CODES = frozenset({1, 2})


class ThreadsChannel:
    """Publishes :func:`~distro.platforms.threads.build_body` containers for one profile; returns media ids.

    ``token`` comes from ``distro auth threads`` (with the profile's user id); ``session`` may carry a
    mounted transport (tests). Every call has ``threads.timeout``.
    """

    name = "threads"
    max_length = LIMIT

    def __init__(
        self, settings: ThreadsSettings, token: AccountToken, *, session: requests.Session | None = None
    ) -> None:
        if not token.access_token or not token.user_id:
            raise ConfigError(
                "Threads is in API mode but the account has no stored token and user id; run "
                "`distro auth threads` (with DISTRO_TOKEN_KEY set), or set threads.mode = 'file'"
            )
        self.token = token
        self._base = f"{GRAPH_URL}/{quote(settings.api_version)}/{quote(token.user_id)}"
        self._timeout = settings.timeout
        self.session = session if session is not None else requests.Session()

    def send(self, message: SocialOut) -> Receipt:
        body = _checked_body(message)
        if message.attempt > 1:  # an earlier try may have published before its answer was lost
            found = self._published(str(body["text"]))
            if found is not None:
                return Receipt(provider_id=found, detail="already posted: found among the profile's posts")
        self._check_quota()
        container = self._call("POST", "threads", data=body).get("id")
        if not container:
            raise TemporaryFailure("Threads made no media container (no id in its answer); trying again")
        published = self._call("POST", "threads_publish", data={"creation_id": str(container)})
        if not published.get("id"):
            raise TemporaryFailure(
                "Threads answered the publish without a media id; the retry looks for the post first"
            )
        return Receipt(provider_id=str(published["id"]), detail=f"container {container}")

    def refresh(self) -> AccountToken:
        """A fresh 60-day token for the current one (Meta: at least a day old, not expired)."""
        params = {"grant_type": "th_refresh_token", "access_token": self.token.access_token}
        answer = self._answer(self._exchange("GET", f"{GRAPH_URL}/refresh_access_token", params=params))
        fresh, lasts = answer.get("access_token"), answer.get("expires_in")
        if not isinstance(fresh, str) or not fresh or not isinstance(lasts, int | float):
            raise PermanentFailure("Threads answered the token refresh without a token and its lifetime")
        ends = datetime.now(UTC) + timedelta(seconds=float(lasts))
        self.token = AccountToken(fresh, ends, user_id=self.token.user_id)
        return self.token

    def close(self) -> None:
        self.session.close()

    def _check_quota(self) -> None:
        """RateLimited(pause_account) until the window frees when the profile is at its publishing limit."""
        data = self._call("GET", "threads_publishing_limit", params={"fields": "quota_usage,config"})
        entries = data.get("data")
        entry: dict[str, Any] = {}
        if isinstance(entries, list) and entries and isinstance(entries[0], dict):
            entry = entries[0]
        config: dict[str, Any] = entry["config"] if isinstance(entry.get("config"), dict) else {}
        usage, total = _number(entry.get("quota_usage"), 0), _number(config.get("quota_total"), 250)
        duration = _number(config.get("quota_duration"), 86400)
        if usage < total:
            return
        frees = self._window_frees(duration)
        wait = (frees - datetime.now(UTC)).total_seconds() if frees else QUOTA_RETRY_AFTER
        wait = max(wait, 60.0)
        until = f"until {frees:%Y-%m-%d %H:%M} UTC, when the oldest leaves the window" if frees else "an hour"
        raise RateLimited(
            f"Threads' publishing limit is reached ({usage} of {total} API posts in "
            f"{duration // 3600} hours); the account pauses {until}",
            retry_after=wait,
            pause_account=True,
        )

    def _window_frees(self, duration: int) -> datetime | None:
        """When the oldest post of the moving window leaves it, from the profile's posts since it began."""
        since = int(datetime.now(UTC).timestamp()) - duration
        params: dict[str, str] = {"fields": "id,timestamp", "since": str(since), "limit": "100"}
        stamps: list[datetime] = []
        for _ in range(WINDOW_PAGES):
            page = self._call("GET", "threads", params=params)
            posts: list[Any] = page["data"] if isinstance(page.get("data"), list) else []
            stamps += [t for p in posts if isinstance(p, dict) and (t := _timestamp(p.get("timestamp")))]
            after = _cursor(page)
            if not posts or after is None:
                break
            params["after"] = after
        return min(stamps) + timedelta(seconds=duration) if stamps else None

    def _published(self, text: str) -> str | None:
        """The id of one of the profile's latest posts whose text is ``text`` (spacing aside), or None."""
        fields = {"fields": "id,text,timestamp", "limit": str(RECENT_POSTS)}
        posts = self._call("GET", "threads", params=fields).get("data")
        wanted = " ".join(text.split())
        for post in posts if isinstance(posts, list) else ():
            text_of = post.get("text") if isinstance(post, Mapping) else None
            if isinstance(text_of, str) and post.get("id") and " ".join(text_of.split()) == wanted:
                return str(post["id"])
        return None

    def _call(self, method: str, edge: str, **kwargs: Any) -> dict[str, Any]:
        """One call on the profile's ``edge`` with the token; its JSON object, or a delivery error."""
        where = "data" if method == "POST" else "params"
        kwargs[where] = {**kwargs.get(where, {}), "access_token": self.token.access_token}
        return self._answer(self._exchange(method, f"{self._base}/{edge}", **kwargs))

    def _exchange(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.Timeout as exc:  # the URL (with the token) is left out on purpose
            raise TemporaryFailure(
                f"the Threads API did not answer within {self._timeout:g}s ({type(exc).__name__})"
            ) from exc
        except requests.RequestException as exc:
            raise TemporaryFailure(f"could not reach the Threads API ({type(exc).__name__})") from exc

    def _answer(self, response: requests.Response) -> dict[str, Any]:
        if not response.ok:
            raise self._failure(response)
        return _json_object(response)

    def _failure(self, response: requests.Response) -> DeliveryError:
        error = _json_object(response).get("error")
        error = error if isinstance(error, Mapping) else {}
        code, status = error.get("code"), response.status_code
        where = f"HTTP {status}" + (f", code {code}" if code is not None else "")
        if error.get("error_subcode") is not None:
            where += f"/{error['error_subcode']}"
        parts = [str(error[k]) for k in ("message", "error_user_title", "error_user_msg") if error.get(k)]
        text = " - ".join(parts).replace(self.token.access_token, "[redacted]") or response.reason
        if code == 190:
            return ChannelFailure(
                f"Threads refused the access token of {self.name} ({where}): {text}; it expired or was "
                "revoked: run `distro auth threads` for the account"
            )
        if code in PERMISSION_CODES:
            return ChannelFailure(
                f"Threads refused {self.name} a permission ({where}): {text}; authorise the app with "
                "threads_basic and threads_content_publish, then run `distro auth threads`"
            )
        if code in RATE_LIMIT_CODES or status == 429:
            return RateLimited(
                f"Threads rate limit reached ({where}): {text}; the account pauses "
                f"{DEFAULT_RETRY_AFTER:.0f}s",
                retry_after=DEFAULT_RETRY_AFTER,
                pause_account=True,
            )
        if status >= 500 or code in TRANSIENT_CODES or error.get("is_transient") is True:
            return TemporaryFailure(f"Threads API error, worth retrying ({where}): {text}")
        return PermanentFailure(f"Threads refused the post ({where}): {text}")


def _checked_body(message: SocialOut) -> dict[str, Any]:
    """The container parameters, or PermanentFailure saying why Threads would refuse them."""
    body = message.body
    if body.get("media_type") != MEDIA_TYPE or set(body) - {"media_type", "text", "link_attachment"}:
        raise PermanentFailure(
            f"post {message.key}: body is not one distro.platforms.threads.build_body makes "
            f"(keys {sorted(body)}); re-plan the post"
        )
    reason = problem(body)
    if reason is not None:
        raise PermanentFailure(f"post {message.key}: {reason}; edit the post")
    return body


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _number(value: Any, default: int) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def _timestamp(value: Any) -> datetime | None:
    """Threads' ``2026-11-27T09:30:00+0000``, or None."""
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)
    except ValueError:
        return None


def _cursor(page: dict[str, Any]) -> str | None:
    """The ``paging.cursors.after`` of a page that has a next one, else None."""
    paging = page.get("paging")
    if not isinstance(paging, dict) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    return str(after) if after else None
