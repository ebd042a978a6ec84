"""A fake X API v2 at the transport level, for tests that run the real tweepy and oauthlib code.

:class:`FakeXAPI` is a ``requests`` transport adapter: mount it on a tweepy client's session
(``client.session.mount("https://", fake)``) and ``POST /2/tweets`` is answered here instead of by
api.x.com. It checks what X checks, in X's order and with X's error bodies:

1. the OAuth 1.0a HMAC-SHA1 signature, verified by oauthlib's server-side ``ResourceEndpoint`` against the
   consumer and access-token secrets it was built with (a wrong secret -> 401, nonces cannot be replayed);
2. any scripted outcome queued with :meth:`FakeXAPI.then` (429, 5xx, ...);
3. ``Content-Type: application/json`` and the body: ``text`` a non-empty string of at most 280 characters,
   ``reply.in_reply_to_tweet_id`` numeric (-> 400 "Invalid Request");
4. duplicate text (-> 403 "You are not allowed to create a Tweet with duplicate content.");

``POST /2/media/upload`` (multipart ``media`` + ``media_category=tweet_image``) and ``POST /2/media/metadata``
(alt text of at most 1000 characters) are answered after the same signature check (a multipart body is not
part of the signature base string); a tweet's ``media.media_ids`` must name uploaded media. Uploads are kept
in :attr:`FakeXAPI.media` (id -> {"bytes", "category", "alt_text"}).

``GET /2/users/me`` and ``GET /2/users/:id/tweets`` (newest first, links as t.co with ``entities.urls``,
``&<>`` escaped as X does) are answered after the same signature check, so a retry's look at recent posts
runs through tweepy too. :func:`answer_lost` queues a post that is created but whose answer never arrives;
:func:`empty_timeline` a listing that has not caught up with a tweet just created.

Rate limits come with X's headers (``x-rate-limit-limit/-remaining/-reset``, epoch seconds, and for the
24-hour caps ``x-user-limit-24hour-*`` and ``x-app-limit-24hour-*``) and its problem body: one 429 queued
with :func:`too_many_requests`, or a window held exhausted with :meth:`FakeXAPI.exhaust`, in which every
``POST /2/tweets`` is refused until the fake's ``clock`` (``time.time`` unless given) reaches the reset.

and otherwise answers 201 ``{"data": {"id", "text", "edit_history_tweet_ids"}}``. Every request is kept in
:attr:`FakeXAPI.seen` with its parsed body and the timeout it was sent with. A queued exception (e.g.
:func:`read_timeout`) is raised before anything is checked, as a transport failure would be.
"""

from __future__ import annotations

import email
import email.policy
import html
import io
import json
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import requests
from oauthlib.common import UNICODE_ASCII_CHARACTER_SET
from oauthlib.oauth1 import RequestValidator, ResourceEndpoint
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from twitter_text import parse_tweet

# The example credentials from X's own OAuth 1.0a documentation ("Creating a signature").
CONSUMER_KEY = "xvz1evFS4wEEPTGEFPHBog"
CONSUMER_SECRET = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"
ACCESS_TOKEN = "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"
ACCESS_TOKEN_SECRET = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"

HOSTS = frozenset({"api.twitter.com", "api.x.com"})
MAX_TEXT = 280
MAX_ALT_TEXT = 1000
MEDIA_UPLOAD = "/2/media/upload"
MEDIA_METADATA = "/2/media/metadata"
USER_ID = ACCESS_TOKEN.split("-", 1)[0]
_URL = re.compile(r"https?://\S+")
DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: status, JSON body, headers."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    """One request as it reached the wire."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    timeout: Any
    status: int | None = None  # what the fake answered; None when it raised

    def json(self) -> Any:
        return json.loads(self.body)


def problem(status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any) -> Reply:
    """An RFC 7807 problem body, the shape X API v2 errors have."""
    return Reply(status, {"title": title, "detail": detail, "type": type_, "status": status, **extra})


def unauthorized() -> Reply:
    return problem(401, "Unauthorized", "Unauthorized")


def duplicate() -> Reply:
    return problem(403, "Forbidden", DUPLICATE_DETAIL)


def client_forbidden() -> Reply:
    """What X answers when the app is not attached to a project with the right access level."""
    return problem(
        403,
        "Client Forbidden",
        "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from "
        "a Twitter developer App that is attached to a Project.",
        "https://api.twitter.com/2/problems/client-forbidden",
        reason="client-not-enrolled",
        required_enrollment="Appropriate Level of API Access",
    )


def invalid_request(message: str) -> Reply:
    return Reply(
        400,
        {
            "errors": [{"message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )


def too_many_requests(
    reset: int,
    *,
    remaining: int = 0,
    limit: int = 100,
    user_24h: tuple[int, int] | None = None,
    app_24h: tuple[int, int] | None = None,
) -> Reply:
    """A 429 with the 15-minute window headers, plus the 24-hour caps as ``(remaining, reset)`` pairs."""
    headers = {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(reset),
    }
    for prefix, cap in (("x-user-limit-24hour", user_24h), ("x-app-limit-24hour", app_24h)):
        if cap is not None:
            remaining_, reset_ = cap
            headers |= {
                f"{prefix}-limit": "17",
                f"{prefix}-remaining": str(remaining_),
                f"{prefix}-reset": str(reset_),
            }
    reply = problem(429, "Too Many Requests", "Too Many Requests")
    return Reply(429, reply.body, headers)


def empty_timeline() -> Reply:
    """``GET /2/users/:id/tweets`` with no tweets, as X answers it (also: a listing that lags behind)."""
    return Reply(200, {"meta": {"result_count": 0}})


def server_error(status: int = 503) -> Reply:
    titles = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    title = titles.get(status, "Server Error")
    return problem(status, title, title)


class Passthrough:
    """Scripted: answer this request normally (to script an outcome for a later request)."""


def passthrough() -> Passthrough:
    return Passthrough()


class AnswerLost(Exception):
    """Scripted: the request reaches X and is carried out, then the answer is lost (a read timeout)."""


def answer_lost() -> AnswerLost:
    return AnswerLost()


def read_timeout(seconds: float = 15) -> requests.exceptions.ReadTimeout:
    return requests.exceptions.ReadTimeout(
        f"HTTPSConnectionPool(host='api.twitter.com', port=443): Read timed out. (read timeout={seconds})"
    )


def connection_error() -> requests.exceptions.ConnectionError:
    return requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='api.twitter.com', port=443): Max retries exceeded with url: /2/tweets"
    )


class _Validator(RequestValidator):
    """Knows one app (consumer) and one user token; rejects replayed nonces and foreign keys."""

    def __init__(self, consumer: tuple[str, str], token: tuple[str, str]) -> None:
        super().__init__()
        self.consumer = consumer
        self.token = token
        self.nonces: set[tuple[str, str, str]] = set()

    allowed_signature_methods = ("HMAC-SHA1",)  # what X accepts
    safe_characters = set(UNICODE_ASCII_CHARACTER_SET) | {"-"}  # X access tokens are "<user id>-<token>"
    client_key_length = (10, 64)
    access_token_length = (10, 80)
    nonce_length = (8, 64)
    enforce_ssl = True
    dummy_client = "dummy-client-key-0000"
    dummy_access_token = "0000-dummy-access-token"

    def validate_client_key(self, client_key: str, request: Any) -> bool:
        return client_key == self.consumer[0]

    def validate_access_token(self, client_key: str, token: str, request: Any) -> bool:
        return token == self.token[0]

    def validate_timestamp_and_nonce(
        self, client_key: str, timestamp: str, nonce: str, request: Any, **tokens: str | None
    ) -> bool:
        seen = (client_key, timestamp, nonce)
        if seen in self.nonces:
            return False
        self.nonces.add(seen)
        return True

    def validate_realms(self, *args: Any, **kwargs: Any) -> bool:
        return True

    def get_client_secret(self, client_key: str, request: Any) -> str:
        return self.consumer[1] if client_key == self.consumer[0] else "dummy-secret"

    def get_access_token_secret(self, client_key: str, token: str, request: Any) -> str:
        return self.token[1] if token == self.token[0] else "dummy-token-secret"


class FakeXAPI(BaseAdapter):
    """``POST /2/tweets`` as X answers it; see the module docstring for what is checked."""

    def __init__(
        self,
        *,
        consumer_key: str = CONSUMER_KEY,
        consumer_secret: str = CONSUMER_SECRET,
        access_token: str = ACCESS_TOKEN,
        access_token_secret: str = ACCESS_TOKEN_SECRET,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.clock = clock
        self._exhausted: tuple[int, str] | None = None  # (reset, window) while posting is refused
        self._endpoint = ResourceEndpoint(
            _Validator((consumer_key, consumer_secret), (access_token, access_token_secret))
        )
        self._script: deque[Reply | Exception | Passthrough] = deque()
        self._texts: set[str] = set()
        self._next_id = 1850000000000000001
        self.seen: list[Seen] = []
        self.tweets: list[dict[str, Any]] = []
        self.media: dict[str, dict[str, Any]] = {}

    def then(self, *outcomes: Reply | Exception | Passthrough) -> FakeXAPI:
        """Queue outcomes for the next requests (an exception is raised, a reply is sent after auth)."""
        self._script.extend(outcomes)
        return self

    def exhaust(self, reset: int, *, window: str = "x-rate-limit") -> FakeXAPI:
        """Refuse every ``POST /2/tweets`` with a 429 until ``clock()`` reaches ``reset`` (epoch seconds).

        ``window`` is the one used up: ``x-rate-limit`` (the endpoint's 15 minutes, remaining 0), or
        ``x-user-limit-24hour`` / ``x-app-limit-24hour`` (a 24-hour cap at 0, the 15-minute window not).
        """
        self._exhausted = (reset, window)
        return self

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        seen = Seen(str(request.method), str(request.url), headers, body, timeout)
        lost = bool(self._script) and isinstance(self._script[0], AnswerLost)
        if lost:
            self._script.popleft()
        elif self._script and isinstance(self._script[0], Exception):
            self.seen.append(seen)
            raise self._script.popleft()
        reply = self._answer(seen)
        self.seen.append(replace(seen, status=reply.status))
        if lost:
            raise read_timeout()
        return _response(request, reply, self)

    def close(self) -> None:
        return None

    def _answer(self, seen: Seen) -> Reply:
        url = urlsplit(seen.url)
        reads = {"/2/users/me", f"/2/users/{USER_ID}/tweets"}
        posts = {"/2/tweets", MEDIA_UPLOAD, MEDIA_METADATA}
        known = (url.path in posts and seen.method == "POST") or (url.path in reads and seen.method == "GET")
        if url.hostname not in HOSTS or not known:
            not_found = "https://api.twitter.com/2/problems/resource-not-found"
            return problem(404, "Not Found Error", f"Could not find {url.path}", not_found)
        multipart = seen.headers.get("Content-Type", "").startswith("multipart/")
        signed_body = "" if multipart else seen.body.decode()  # only form bodies are signed
        valid, _ = self._endpoint.validate_protected_resource_request(
            seen.url, http_method=seen.method, body=signed_body, headers=dict(seen.headers)
        )
        if not valid:
            return unauthorized()
        scripted = self._script.popleft() if self._script else None
        if isinstance(scripted, Reply):
            return scripted
        refused = self._refused(seen.method, url.path)
        if refused is not None:
            return refused
        if url.path == "/2/users/me":
            return Reply(200, {"data": {"id": USER_ID, "name": "The Desk", "username": "thedesk"}})
        if url.path in reads:
            return self._timeline()
        if url.path == MEDIA_UPLOAD:
            return self._upload(seen)
        if url.path == MEDIA_METADATA:
            return self._metadata(seen)
        return self._create(seen)

    def _refused(self, method: str, path: str) -> Reply | None:
        """The 429 of an exhausted window, while it lasts, for a post."""
        if self._exhausted is None or (method, path) != ("POST", "/2/tweets"):
            return None
        reset, window = self._exhausted
        if self.clock() >= reset:
            self._exhausted = None
            return None
        later = int(self.clock()) + 900
        if window == "x-user-limit-24hour":
            return too_many_requests(later, remaining=50, user_24h=(0, reset))
        if window == "x-app-limit-24hour":
            return too_many_requests(later, remaining=50, app_24h=(0, reset))
        return too_many_requests(reset)

    def _upload(self, seen: Seen) -> Reply:
        content_type = seen.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            return invalid_request("Content-Type must be multipart/form-data")
        message = email.message_from_bytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + seen.body, policy=email.policy.HTTP
        )
        fields = {
            part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in message.iter_parts()
        }
        if not fields.get("media"):
            return invalid_request("$.media: media is required")
        if fields.get("media_category") != b"tweet_image":
            return invalid_request("$.media_category: must be tweet_image")
        media_id = str(self._next_id)
        self._next_id += 1
        self.media[media_id] = {"bytes": fields["media"], "category": "tweet_image", "alt_text": None}
        data = {"id": media_id, "media_key": f"3_{media_id}", "expires_after_secs": 86400}
        return Reply(200, {"data": data})

    def _metadata(self, seen: Seen) -> Reply:
        try:
            payload = seen.json()
            media_id = payload["id"]
            alt = payload["metadata"]["alt_text"]["text"]
        except (ValueError, KeyError, TypeError):
            return invalid_request("$.id and $.metadata.alt_text.text are required")
        if media_id not in self.media:
            return invalid_request(f"$.id: unknown media {media_id}")
        if not isinstance(alt, str) or len(alt) > MAX_ALT_TEXT:
            return invalid_request(f"$.metadata.alt_text.text: at most {MAX_ALT_TEXT} characters")
        self.media[media_id]["alt_text"] = alt
        return Reply(200, {"data": {"id": media_id, "associated_metadata": True}})

    def _timeline(self) -> Reply:
        """The user's tweets, newest first, as ``GET /2/users/:id/tweets`` shows them."""
        data = [_as_shown(t["id"], t["text"]) for t in reversed(self.tweets)][:20]
        if not data:
            return Reply(200, {"meta": {"result_count": 0}})
        meta = {"result_count": len(data), "newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
        return Reply(200, {"data": data, "meta": meta})

    def _create(self, seen: Seen) -> Reply:
        if not seen.headers.get("Content-Type", "").startswith("application/json"):
            return invalid_request("Content-Type must be application/json")
        try:
            payload = seen.json()
        except ValueError:
            return invalid_request("Request body is not valid JSON")
        problem_text = _invalid(payload)
        media_ids = payload.get("media", {}).get("media_ids", []) if isinstance(payload, dict) else []
        if not problem_text and any(m not in self.media for m in media_ids):
            problem_text = f"$.media.media_ids: unknown media {media_ids}"
        if problem_text:
            return invalid_request(problem_text)
        text = payload["text"]
        if text in self._texts:
            return duplicate()
        self._texts.add(text)
        tweet_id = str(self._next_id)
        self._next_id += 1
        self.tweets.append({**payload, "id": tweet_id})
        return Reply(201, {"data": {"edit_history_tweet_ids": [tweet_id], "id": tweet_id, "text": text}})


def _invalid(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return "Request body must be a JSON object"
    text = payload.get("text")
    if not isinstance(text, str) or not text:
        return "$.text: text is required and must be a non-empty string"
    weighted = parse_tweet(text).weightedLength  # X's own counting (twitter-text v3), not ours
    if weighted > MAX_TEXT:
        return f"$.text: text is too long (weighted length {weighted} > {MAX_TEXT})"
    unknown = set(payload) - {"text", "reply", "media"}
    if "media" in payload:
        ids = payload["media"].get("media_ids") if isinstance(payload["media"], dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i.isdigit() for i in ids):
            return "$.media.media_ids: must be a non-empty list of numeric strings"
    if unknown:
        return f"The following fields are not allowed: {sorted(unknown)}"
    if "reply" in payload:
        reply = payload["reply"]
        target = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
        if not isinstance(target, str) or not target.isdigit():
            return "$.reply.in_reply_to_tweet_id: must be a numeric string"
    return None


def _as_shown(tweet_id: str, text: str) -> dict[str, Any]:
    """A tweet as X returns it: every link replaced by a t.co link, listed in ``entities.urls``."""
    shown, urls, offset = "", [], 0
    for number, match in enumerate(_URL.finditer(text)):
        shown += html.escape(text[offset : match.start()], quote=False)
        short = f"https://t.co/{tweet_id[-6:]}{number:04d}"
        urls.append(
            {
                "start": len(shown),
                "end": len(shown) + len(short),
                "url": short,
                "expanded_url": match.group(),
                "display_url": match.group().split("://", 1)[1][:25],
            }
        )
        shown += short
        offset = match.end()
    shown += html.escape(text[offset:], quote=False)
    tweet: dict[str, Any] = {"id": tweet_id, "text": shown, "edit_history_tweet_ids": [tweet_id]}
    if urls:
        tweet["entities"] = {"urls": urls}
    return tweet


def _response(request: requests.PreparedRequest, reply: Reply, adapter: BaseAdapter) -> requests.Response:
    """A real ``requests.Response`` carrying ``reply``, as an HTTP adapter would build it."""
    content = json.dumps(reply.body).encode()
    response = requests.Response()
    response.status_code = reply.status
    response.reason = _REASONS.get(reply.status, "Unknown")
    response.headers = CaseInsensitiveDict(
        {"content-type": "application/json; charset=utf-8", **reply.headers}
    )
    response._content = content
    response.raw = io.BytesIO(content)
    response.encoding = "utf-8"
    response.url = str(request.url)
    response.request = request
    response.connection = adapter
    return response


_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
