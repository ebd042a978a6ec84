"""Post to X through tweepy's v2 ``Client`` (``POST /2/tweets``, OAuth 1.0a user context).

:func:`distro.platforms.x.build_body` is the single definition of the request body: the file sink writes
it, and :class:`XChannel` turns it back into ``create_tweet`` arguments and refuses any body tweepy would
not re-create byte for byte, so a post written to a file is exactly the post that would have been sent.

tweepy never passes a timeout and hard-codes its host, so the channel swaps the client's session for a
:class:`~distro.channels._http.TimeoutSession` (keeping any transport adapters already mounted on it,
which is how tests put a fake X behind the real tweepy and oauthlib code).

Errors, as the dispatcher sees them:
    429, a 24-hour cap exhausted     RateLimited(pause_account=True) until its ``x-*-limit-24hour-reset``
    429, POST /2/tweets window at 0  RateLimited(pause_account=True) until ``x-rate-limit-reset``
    429, other                       RateLimited for this post only, until the reset header (else 15 min)
    401                              ChannelFailure: token invalid or revoked, re-authorise the account
    403 duplicate content            PermanentFailure("duplicate post ..."), unless a retry finds the post
    400, 403, other 4xx              PermanentFailure with X's detail
    5xx, timeouts, connection errors TemporaryFailure

The ``x-rate-limit-*`` headers count one endpoint's 15-minute window, the 24-hour caps count the user's and
the app's posts. The account pauses only when what every send needs is used up (a cap, or the window of
``POST /2/tweets``): an exhausted window of the timeline read or the media upload holds back just the post
that met it, since a first try of a text post needs neither. A 429 that names no exhausted window (a burst)
says nothing about the next request, so it too holds back only its post. Pauses are counted from the
channel's ``clock`` (``time.time``) to X's epoch-second reset, at least 1 s and at most 24 h 15 min.

Media (``x.media``): when the message carries ``image_url``, the image is fetched at send time by the
injected ``fetch_image`` (the composition root wires the source fetcher: 5 MB, the channel's timeout,
private addresses refused), uploaded with ``POST /2/media/upload`` (multipart, OAuth 1.0a signed by
requests-oauthlib with the same keys, since tweepy 4.17 has no v2 upload), given alt text with
``POST /2/media/metadata``, and attached as ``media.media_ids``.
An image that cannot be fetched or that X refuses is logged and the post goes out without it.

Threads (``x.thread``): ``SocialOut.thread`` replies are posted under the first tweet, each replying to the
previous one, within one send; the receipt carries the first tweet's id. A failure midway raises, and the
retry finds the parts already posted among the recent tweets and continues after the last one.

A retry (``SocialOut.attempt > 1``) first reads the account's latest tweets (``GET /2/users/me``, then
``GET /2/users/:id/tweets``): when the earlier try's answer was lost after X created the tweet, that tweet
is recorded as sent instead of being posted twice. The listing can lag behind a tweet just created, so a
retry that X refuses as duplicate content looks once more and records the tweet it finds; only when it is
still not there (or on a first try) is the duplicate a failure. A failing look raises like a failing post.
"""

from __future__ import annotations

import html
import logging
import time
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import tweepy
from requests_oauthlib import OAuth1

from distro.channels._credentials import quiet_credential_logs
from distro.channels._http import TimeoutSession
from distro.channels.base import Image, ImageFetcher, Receipt, SocialOut
from distro.errors import (
    ChannelFailure,
    ConfigError,
    DeliveryError,
    PermanentFailure,
    RateLimited,
    SourceError,
    TemporaryFailure,
)
from distro.platforms.x import LIMIT, MAX_ALT_TEXT, build_body
from distro.settings import XSettings

log = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = 15 * 60.0  # X's per-endpoint windows are 15 minutes long
MIN_RETRY_AFTER = 1.0
MAX_RETRY_AFTER = 24 * 3600.0 + 15 * 60.0  # the 24-hour caps and a margin; more is a broken header
TWEETS_PATH = "/2/tweets"  # the endpoint every send uses: its window exhausted pauses the account
MEDIA_UPLOAD_URL = "https://api.x.com/2/media/upload"
MEDIA_METADATA_URL = "https://api.x.com/2/media/metadata"
RECENT_POSTS = 20  # how many of the account's latest tweets a retry looks through for its own post
T = TypeVar("T")

_CREDENTIALS = (
    ("api_key", "DISTRO_X__API_KEY"),
    ("api_secret", "DISTRO_X__API_SECRET"),
    ("access_token", "DISTRO_X__ACCESS_TOKEN"),
    ("access_token_secret", "DISTRO_X__ACCESS_TOKEN_SECRET"),
)
# Windows a 429 may come from, checked in this order: the 24-hour caps, then the 15-minute window.
_RATE_WINDOWS = ("x-user-limit-24hour", "x-app-limit-24hour", "x-rate-limit")


def make_client(settings: XSettings) -> tweepy.Client:
    """A tweepy client for the account in ``settings``; raises ConfigError if a credential is missing."""
    key, secret, token, token_secret = _credentials(settings)
    client = tweepy.Client(
        consumer_key=key,
        consumer_secret=secret,
        access_token=token,
        access_token_secret=token_secret,
        wait_on_rate_limit=False,  # the dispatcher waits, not this worker
    )
    client.session = TimeoutSession.replacing(client.session, settings.timeout)
    return client


class XChannel:
    """Sends :class:`SocialOut` bodies made by :func:`build_body` as tweets; returns the tweet id."""

    name = "x"
    max_length = LIMIT  # weighted; the composer fits the text

    def __init__(
        self,
        settings: XSettings,
        *,
        client: tweepy.Client | None = None,
        fetch_image: ImageFetcher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secrets = tuple(s for s in _credentials(settings) if s)
        self._oauth = OAuth1(*_credentials(settings))  # signs the media calls tweepy does not make
        self._fetch_image = fetch_image  # None: posts go out without their images (logged)
        self._timeout = settings.timeout
        self._clock = clock  # epoch seconds, to read X's reset headers against
        self._user_id: str | None = None
        self.client = client if client is not None else make_client(settings)
        # An injected client gets the timeout too; adapters mounted on its session stay in place.
        self.client.session = TimeoutSession.replacing(self.client.session, settings.timeout)
        quiet_credential_logs()

    def send(self, message: SocialOut) -> Receipt:
        arguments = _tweet_arguments(message)
        parts = [arguments["text"], *message.thread]
        posted, found = self._start(message, arguments, parts)
        if found and len(posted) == len(parts):
            return Receipt(provider_id=posted[0], detail=f"already posted: {found}")
        for reply in parts[len(posted) :]:
            try:
                posted.append(self._tweet({"text": reply, "in_reply_to_tweet_id": posted[-1]}))
            except PermanentFailure as exc:  # the first tweet is out: record it, say what is missing
                return Receipt(
                    provider_id=posted[0],
                    detail=f"thread incomplete after {len(posted)} of {len(parts)}: {exc}",
                )
        detail = f"thread of {len(parts)} tweets: {', '.join(posted)}" if len(parts) > 1 else ""
        return Receipt(provider_id=posted[0], detail=detail)

    def _start(
        self, message: SocialOut, arguments: dict[str, Any], parts: list[str]
    ) -> tuple[list[str], str]:
        """Ids of the leading ``parts`` now on X, and how an earlier try's were found ("" if just posted)."""
        if message.attempt > 1:  # an earlier try may have posted (part of) this before its answer was lost
            posted = self._call(lambda: self._already_posted(parts))
            if posted:
                return posted, "found among the account's recent posts"
        media_id = self._media_id(message) if message.image_url else None
        if media_id is not None:
            arguments["media_ids"] = [media_id]
        try:
            return [self._tweet(arguments)], ""
        except PermanentFailure as exc:
            if message.attempt == 1 or not _refused_as_duplicate(exc):
                raise
            # X has the tweet but the listing above had not caught up with it yet: look once more.
            posted = self._call(lambda: self._already_posted(parts))
            if not posted:
                raise
            return posted, "refused as duplicate content, then found among the account's recent posts"

    def _tweet(self, arguments: dict[str, Any]) -> str:
        response = self._call(lambda: self.client.create_tweet(**arguments))
        data = response.data if isinstance(response.data, Mapping) else {}
        tweet_id = data.get("id")
        if not tweet_id:
            raise PermanentFailure("X answered without a tweet id; check the account before re-sending")
        return str(tweet_id)

    def _already_posted(self, parts: list[str]) -> list[str]:
        """Ids of the leading ``parts`` found among the account's recent tweets (empty: none posted)."""
        recent = self._recent_tweets()
        found: list[str] = []
        for part in parts:
            tweet_id = recent.get(unicodedata.normalize("NFC", part))
            if tweet_id is None:
                break
            found.append(tweet_id)
        return found

    def _media_id(self, message: SocialOut) -> str | None:
        """The uploaded image's media id, or None (logged) when the image cannot be had or is refused."""
        image = self._image(message)
        if image is None:
            return None
        content_type = (image.content_type or "image/jpeg").split(";")[0].strip()
        try:
            upload = self._media_call(
                MEDIA_UPLOAD_URL,
                files={"media": ("image", image.body, content_type)},
                data={"media_category": "tweet_image"},
            )
            media_id = str(upload["data"]["id"])
            if message.alt_text:
                alt = {"text": message.alt_text[:MAX_ALT_TEXT]}
                self._media_call(MEDIA_METADATA_URL, json={"id": media_id, "metadata": {"alt_text": alt}})
        except PermanentFailure as exc:
            log.warning("post %s goes out without its image: X refused it: %s", message.key, exc)
            return None
        except (KeyError, TypeError) as exc:
            log.warning(
                "post %s goes out without its image: X's upload answer had no id (%s)", message.key, exc
            )
            return None
        return media_id

    def _image(self, message: SocialOut) -> Image | None:
        """The message's image from the injected fetcher, or None (logged) when it cannot be had."""
        problem: object = "no image fetcher is wired to the X channel"
        if self._fetch_image is not None:
            try:
                return self._fetch_image(message.image_url or "")
            except SourceError as exc:
                problem = exc
        log.warning("post %s goes out without its image: %s", message.key, problem)
        return None

    def _media_call(self, url: str, **kwargs: Any) -> Any:
        """POST a media endpoint, OAuth 1.0a signed; errors mapped like a tweet's."""

        def request() -> Any:
            response = self.client.session.post(url, auth=self._oauth, **kwargs)
            if response.status_code >= 400:
                raise tweepy.HTTPException(response)
            return response.json()

        return self._call(request)

    def _recent_tweets(self) -> dict[str, str]:
        """The account's recent tweets: text as sent (t.co links expanded) -> id, newest winning."""
        if self._user_id is None:
            me = self.client.get_me(user_auth=True)
            self._user_id = str(me.data.id)
        recent = self.client.get_users_tweets(
            self._user_id, max_results=RECENT_POSTS, tweet_fields=["entities"], user_auth=True
        )
        found: dict[str, str] = {}
        for tweet in recent.data or ():
            found.setdefault(_as_posted(tweet.text, tweet.entities), str(tweet.id))
        return found

    def _call(self, request: Callable[[], T]) -> T:
        """``request()`` with tweepy's and requests' exceptions mapped to delivery errors."""
        try:
            return request()
        except tweepy.HTTPException as exc:
            raise self._failure(exc) from exc
        except requests.JSONDecodeError as exc:  # a 2xx without JSON: the tweet may exist
            raise PermanentFailure(
                "X accepted the request but its answer was not JSON; check the account before re-sending"
            ) from exc
        except requests.Timeout as exc:
            raise TemporaryFailure(
                f"X did not answer within {self._timeout:g}s ({type(exc).__name__})"
            ) from exc
        except requests.RequestException as exc:
            raise TemporaryFailure(f"could not reach X ({type(exc).__name__})") from exc

    def close(self) -> None:
        self.client.session.close()

    def _failure(self, exc: tweepy.HTTPException) -> DeliveryError:
        status = exc.response.status_code
        detail = self._detail(exc)
        if status == 429:
            return self._rate_limited(exc.response, detail)
        if status == 401:
            return ChannelFailure(
                f"X refused the credentials (401: {detail}): the access token is invalid or revoked; "
                "re-authorise the account and set DISTRO_X__ACCESS_TOKEN and DISTRO_X__ACCESS_TOKEN_SECRET "
                "(or check DISTRO_X__API_KEY and DISTRO_X__API_SECRET)"
            )
        if _refused_as_duplicate(exc):
            return PermanentFailure(f"duplicate post refused by X (403): {detail}")
        if status >= 500:
            return TemporaryFailure(f"X server error ({status}): {detail}")
        return PermanentFailure(f"X rejected the post ({status}): {detail}")

    def _rate_limited(self, response: requests.Response, detail: str) -> RateLimited:
        """The 429 as the dispatcher acts on it: the account pauses when a limit all sends need is used up."""
        retry_after, window, exhausted = _retry_after(response.headers, self._clock())
        request = response.request
        posting = request is not None and request.method == "POST" and _path(request.url) == TWEETS_PATH
        pause = exhausted and (window != "x-rate-limit" or posting)
        whom = "the account pauses" if pause else "this post waits"
        return RateLimited(
            f"X rate limit reached ({window}): {detail}; {whom} {retry_after:.0f}s",
            retry_after=retry_after,
            pause_account=pause,
        )

    def _detail(self, exc: tweepy.HTTPException) -> str:
        """X's own words (error messages, else the problem ``detail``), with any credential masked."""
        response = exc.response
        text = "; ".join(str(m) for m in exc.api_messages) or f"{response.status_code} {response.reason}"
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


def _credentials(settings: XSettings) -> tuple[str, str, str, str]:
    values = {
        field: (secret.get_secret_value() if (secret := getattr(settings, field)) is not None else "")
        for field, _ in _CREDENTIALS
    }
    missing = [env for field, env in _CREDENTIALS if not values[field]]
    if missing:
        raise ConfigError(
            f"X is in API mode but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; "
            "set them in the environment (keys and tokens of the X developer app, user context), "
            "or set x.mode = 'file'"
        )
    return values["api_key"], values["api_secret"], values["access_token"], values["access_token_secret"]


def _tweet_arguments(message: SocialOut) -> dict[str, Any]:
    """``create_tweet`` keyword arguments that re-create ``message.body`` exactly, or PermanentFailure."""
    body = message.body
    text = body.get("text")
    reply = body.get("reply")
    reply_to = reply.get("in_reply_to_tweet_id") if isinstance(reply, Mapping) else None
    if not isinstance(text, str) or build_body(text, reply_to=reply_to) != body:
        raise PermanentFailure(
            f"post {message.key}: body is not one distro.platforms.x.build_body makes "
            f"(keys {sorted(body)}); re-plan the post"
        )
    arguments: dict[str, Any] = {"text": text}
    if reply_to is not None:
        arguments["in_reply_to_tweet_id"] = reply_to
    return arguments


def _as_posted(text: str, entities: Mapping[str, Any] | None) -> str:
    """A fetched tweet's text as it was sent: X returns links as t.co and ``&``, ``<``, ``>`` escaped."""
    for url in (entities or {}).get("urls", ()):
        if url.get("url") and url.get("expanded_url"):
            text = text.replace(url["url"], url["expanded_url"])
    return unicodedata.normalize("NFC", html.unescape(text))


def _refused_as_duplicate(error: BaseException) -> bool:
    """Whether X answered 403 "duplicate content" (``error`` is tweepy's exception or the mapped one)."""
    cause = error if isinstance(error, tweepy.HTTPException) else error.__cause__
    if not isinstance(cause, tweepy.HTTPException) or cause.response.status_code != 403:
        return False
    return any("duplicate" in str(message).lower() for message in cause.api_messages)


def _path(url: str | None) -> str:
    return urlsplit(url or "").path


def _retry_after(headers: Mapping[str, str], now: float) -> tuple[float, str, bool]:
    """Seconds from ``now`` until the exhausted window resets, which window it was, and whether one was.

    Clamped to :data:`MIN_RETRY_AFTER`..:data:`MAX_RETRY_AFTER`; without an exhausted window the 15-minute
    reset is the best hint, and without any reset header X's window length.
    """
    exhausted = [(reset, w) for w in _RATE_WINDOWS if (reset := _exhausted_reset(headers, w)) is not None]
    if exhausted:
        reset, window = max(exhausted)  # wait for the last window that still blocks
    elif (reset_only := _int_header(headers, "x-rate-limit-reset")) is not None:
        reset, window = reset_only, "x-rate-limit"
    else:
        return DEFAULT_RETRY_AFTER, "no reset header", False
    return min(MAX_RETRY_AFTER, max(MIN_RETRY_AFTER, reset - now)), window, bool(exhausted)


def _exhausted_reset(headers: Mapping[str, str], window: str) -> int | None:
    if _int_header(headers, f"{window}-remaining") == 0:
        return _int_header(headers, f"{window}-reset")
    return None


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(float(headers[name]))
    except (KeyError, TypeError, ValueError):
        return None
