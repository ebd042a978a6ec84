"""A fake Facebook Graph API at the transport level, for tests that run the real requests-oauthlib code.

:class:`FakeGraphAPI` is a ``requests`` transport adapter: mount it on an ``OAuth2Session``
(``session.mount("https://", fake)``; OAuth2Session refuses plain http, so a local server is no option)
and ``POST https://graph.facebook.com/{version}/{page_id}/feed`` is answered here. It checks what Graph
checks, in Graph's order and with Graph's error bodies (``{"error": {"message", "type", "code", ...}}``):

1. the path: ``/vNN.N/{page_id}/feed`` for its one Page (-> 400 code 2500 / 404 code 803);
2. the ``Authorization: Bearer`` token is the Page token (-> 400 code 104 missing, 400 code 190 wrong);
3. ``appsecret_proof`` (query string or body) is the hex HMAC-SHA256 of the token keyed with the app secret,
   when the fake has an app secret (-> 400 code 100 missing or invalid);
4. any scripted outcome queued with :meth:`FakeGraphAPI.then` (see :func:`graph_error` and friends);
5. the fields: ``message`` a non-empty string of at most 63206 characters, ``link`` an http(s) URL
   (-> 400 code 100), and a repeated message -> 400 code 506 "Duplicate status message";

and otherwise answers 200 ``{"id": "<page_id>_<n>"}``. ``GET .../{page_id}/feed`` (same checks) lists the
Page's posts newest first in Graph's ``{"data": [...], "paging": ...}`` shape; :func:`answer_lost` queues a
post that is published but whose answer never arrives, :func:`empty_feed` a feed read that has not caught
up with a post just published. Bodies may be JSON or form encoded, as Graph takes both. Every request is
kept in :attr:`FakeGraphAPI.seen` with the timeout it was sent with.

Throttling and blocks come with Graph's error bodies and, for throttling, the ``X-Business-Use-Case-Usage``
header whose ``estimated_time_to_regain_access`` is in minutes: one reply queued with :func:`rate_limited`
or :func:`policy_blocked`, or held with :meth:`FakeGraphAPI.throttle`, which refuses every post until the
fake's ``clock`` (``time.time`` unless given) has run the given minutes, the regain estimate counting down.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

PAGE_ID = "100000000000001"
GRAPH_VERSION = "v25.0"
PAGE_TOKEN = "EAAGm0PX4ZCpsBAPageTokenForTestsOnly0ZBxYzQ2ZCZAbcDEF"
APP_SECRET = "8f3c2a1b9d7e6f5a4b3c2d1e0f9a8b7c"
MAX_MESSAGE = 63206
_PATH = re.compile(r"^/(v\d+\.\d+)/([^/]+)/(feed|photos)$")


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: status, JSON body, headers."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    """One request as it reached the wire; ``query`` is the parsed query string."""

    method: str
    url: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    timeout: Any
    status: int | None = None

    def fields(self) -> dict[str, Any]:
        """The body's parameters, JSON or form encoded."""
        if not self.body:
            return {}
        if self.headers.get("Content-Type", "").startswith("application/json"):
            loaded = json.loads(self.body)
            return loaded if isinstance(loaded, dict) else {"": loaded}
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


def graph_error(
    code: int,
    message: str,
    *,
    status: int = 400,
    type_: str = "OAuthException",
    subcode: int | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Reply:
    """A Graph error reply, shaped as Graph sends it."""
    error: dict[str, Any] = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error |= extra
    error["fbtrace_id"] = "AbCdEfGhIjKlMnOpQrStUv"
    return Reply(status, {"error": error}, dict(headers or {}))


def token_expired() -> Reply:
    return graph_error(
        190,
        "Error validating access token: Session has expired on Tuesday, 01-Jul-2025 10:00:00 PDT. "
        "The current time is Wednesday, 02-Jul-2025 09:00:00 PDT.",
        subcode=463,
    )


def business_use_case_usage(page_id: str, minutes: int) -> dict[str, str]:
    usage = {
        page_id: [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 10,
                "total_time": 10,
                "estimated_time_to_regain_access": minutes,
            }
        ]
    }
    return {"X-Business-Use-Case-Usage": json.dumps(usage)}


_RATE_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try again.",
}


def rate_limited(
    code: int, *, status: int = 400, regain_minutes: int | None = None, page_id: str = PAGE_ID
) -> Reply:
    headers = business_use_case_usage(page_id, regain_minutes) if regain_minutes is not None else {}
    return graph_error(code, _RATE_MESSAGES[code], status=status, headers=headers, is_transient=True)


def duplicate() -> Reply:
    return graph_error(506, "(#506) Duplicate status message")


def policy_blocked() -> Reply:
    """Code 368, subcode 1390008: the Page is temporarily blocked from posting for going too fast."""
    return graph_error(
        368,
        "It looks like you were misusing this feature by going too fast. "
        "You've been temporarily blocked from using it.",
        subcode=1390008,
        is_transient=False,
        error_user_title="You Can't Use This Feature Right Now",
        error_user_msg="We limit how often you can post, comment or do other things in a given amount of "
        "time in order to help protect the community from spam. You can try again later.",
    )


def empty_feed() -> Reply:
    """``GET /{page_id}/feed`` with no posts, as Graph answers it (also: a feed that lags behind)."""
    return Reply(200, {"data": []})


def unexpected(status: int = 500, code: int = 2) -> Reply:
    return graph_error(
        code,
        "An unexpected error has occurred. Please retry your request later.",
        status=status,
        is_transient=True,
    )


def read_timeout(seconds: float = 15) -> requests.exceptions.ReadTimeout:
    return requests.exceptions.ReadTimeout(
        f"HTTPSConnectionPool(host='graph.facebook.com', port=443): Read timed out. (read timeout={seconds})"
    )


def connection_error() -> requests.exceptions.ConnectionError:
    return requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='graph.facebook.com', port=443): Max retries exceeded"
    )


class AnswerLost(Exception):
    """Scripted: the request reaches Graph and is carried out, then the answer is lost (a read timeout)."""


def answer_lost() -> AnswerLost:
    return AnswerLost()


def appsecret_proof(app_secret: str, token: str) -> str:
    """Recomputed here on purpose, not imported from the code under test."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


class FakeGraphAPI(BaseAdapter):
    """``POST /{version}/{page_id}/feed`` as Graph answers it; see the module docstring."""

    def __init__(
        self,
        *,
        page_id: str = PAGE_ID,
        page_token: str = PAGE_TOKEN,
        app_secret: str | None = APP_SECRET,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.clock = clock
        self._throttled: tuple[int, float] | None = None  # (code, until) while posts are refused
        self.page_id = page_id
        self.page_token = page_token
        self.app_secret = app_secret
        self._script: deque[Reply | Exception] = deque()
        self._messages: set[str] = set()
        self._next = 1
        self.seen: list[Seen] = []
        self.posts: list[dict[str, Any]] = []
        self.post_ids: list[str] = []

    def then(self, *outcomes: Reply | Exception) -> FakeGraphAPI:
        """Queue outcomes for the next requests (an exception is raised, a reply is sent after auth)."""
        self._script.extend(outcomes)
        return self

    def throttle(self, code: int, *, minutes: float) -> FakeGraphAPI:
        """Refuse every post with Graph error ``code`` (a throttling code, or 368) for ``minutes``."""
        self._throttled = (code, self.clock() + minutes * 60)
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
        url = str(request.url)
        query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        seen = Seen(str(request.method), url, query, headers, body, timeout)
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
        match = _PATH.match(url.path)
        if url.hostname != "graph.facebook.com" or seen.method not in ("GET", "POST") or match is None:
            return graph_error(2500, f"Unknown path components: {url.path}")
        if match.group(2) != self.page_id:
            missing = match.group(2)
            text = f"(#803) Some of the aliases you requested do not exist: {missing}"
            return graph_error(803, text, status=404)
        try:
            params = {**seen.query, **seen.fields()}
        except ValueError:
            return graph_error(
                100, "(#100) The request body could not be parsed", type_="GraphMethodException"
            )
        rejected = self._check_auth(seen, params)
        if rejected is not None:
            return rejected
        if self._script:
            scripted = self._script.popleft()
            assert isinstance(scripted, Reply)
            return scripted
        refused = self._refused(seen.method)
        if refused is not None:
            return refused
        if match.group(3) == "photos" and seen.method == "POST":
            return self._photo({k: v for k, v in seen.fields().items() if k != "appsecret_proof"})
        if seen.method == "GET":
            return self._feed(int(seen.query.get("limit", "25")))
        return self._publish({k: v for k, v in seen.fields().items() if k not in ("appsecret_proof",)})

    def _refused(self, method: str) -> Reply | None:
        """The throttle or block reply, while it lasts, for a post."""
        if self._throttled is None or method != "POST":
            return None
        code, until = self._throttled
        left = until - self.clock()
        if left <= 0:
            self._throttled = None
            return None
        if code == 368:
            return policy_blocked()
        return rate_limited(code, regain_minutes=math.ceil(left / 60))

    def _check_auth(self, seen: Seen, params: Mapping[str, Any]) -> Reply | None:
        authorization = seen.headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            return graph_error(104, "An access token is required to request this resource.")
        if not hmac.compare_digest(authorization.removeprefix("Bearer "), self.page_token):
            return graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        if self.app_secret is None:
            return None
        proof = params.get("appsecret_proof")
        if not proof:
            return graph_error(
                100,
                "API calls from the server require an appsecret_proof argument",
                type_="GraphMethodException",
            )
        if not hmac.compare_digest(str(proof), appsecret_proof(self.app_secret, self.page_token)):
            return graph_error(
                100, "Invalid appsecret_proof provided in the API argument", type_="GraphMethodException"
            )
        return None

    def _publish(self, fields: dict[str, Any]) -> Reply:
        message, link = fields.get("message"), fields.get("link")
        if not isinstance(message, str) or not message.strip():
            if link is None:
                return graph_error(100, "(#100) Missing message or attachment")
            return graph_error(100, "(#100) Param message must be a non-empty string")
        if len(message) > MAX_MESSAGE:
            return graph_error(100, f"(#100) Param message must be at most {MAX_MESSAGE} characters long")
        if link is not None and not (isinstance(link, str) and re.match(r"^https?://[^\s/]+", link)):
            return graph_error(100, "(#100) Param link must be a valid URL")
        if message in self._messages:
            return duplicate()
        self._messages.add(message)
        post_id = f"{self.page_id}_{self._next}"
        self._next += 1
        self.posts.append(fields)
        self.post_ids.append(post_id)
        return Reply(200, {"id": post_id})

    def _photo(self, fields: dict[str, Any]) -> Reply:
        """``POST /{page_id}/photos`` with ``url`` and ``caption``: a photo and the Page post showing it."""
        url, caption = fields.get("url"), fields.get("caption", "")
        if not (isinstance(url, str) and re.match(r"^https?://[^\s/]+", url)):
            return graph_error(100, "(#100) Param url must be a valid URL")
        if not isinstance(caption, str) or len(caption) > MAX_MESSAGE:
            return graph_error(
                100, f"(#100) Param caption must be a string of at most {MAX_MESSAGE} characters"
            )
        if caption and caption in self._messages:
            return duplicate()
        self._messages.add(caption)
        post_id = f"{self.page_id}_{self._next}"
        self._next += 1
        self.posts.append({"message": caption, "photo": url})
        self.post_ids.append(post_id)
        return Reply(200, {"id": str(900000000000000 + self._next), "post_id": post_id})

    def _feed(self, limit: int) -> Reply:
        """``GET /{page_id}/feed?fields=message,link,created_time``: newest first, with paging cursors."""
        data = [
            {
                "created_time": "2026-11-25T09:00:00+0000",
                **{k: p[k] for k in ("message", "link", "id") if k in p},
            }
            for p in reversed([{**p, "id": i} for p, i in zip(self.posts, self.post_ids, strict=True)])
        ][:limit]
        cursors = {"before": "QVFIUmJfZA0ZD", "after": "QVFIUnRfZA0ZD"}
        return Reply(200, {"data": data, "paging": {"cursors": cursors}} if data else {"data": []})


def _response(request: requests.PreparedRequest, reply: Reply, adapter: BaseAdapter) -> requests.Response:
    """A real ``requests.Response`` carrying ``reply``, as an HTTP adapter would build it."""
    content = json.dumps(reply.body).encode()
    response = requests.Response()
    response.status_code = reply.status
    response.reason = {
        200: "OK",
        400: "Bad Request",
        403: "Forbidden",
        404: "Not Found",
        500: "Internal Server Error",
    }.get(reply.status, "Unknown")
    response.headers = CaseInsensitiveDict(
        {"content-type": "application/json; charset=UTF-8", **reply.headers}
    )
    response._content = content
    response.raw = io.BytesIO(content)
    response.encoding = "utf-8"
    response.url = str(request.url)
    response.request = request
    response.connection = adapter
    return response
