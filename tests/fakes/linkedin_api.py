"""A fake LinkedIn (the versioned Posts API and the OAuth token endpoint) at the transport level.

:class:`FakeLinkedIn` is a ``requests`` transport adapter for ``api.linkedin.com`` and ``www.linkedin.com``;
mount it on the channel's session. It checks what LinkedIn checks, in that order, and answers with
LinkedIn's error bodies (``{"status", "serviceErrorCode", "code", "message"}``, plus ``errorDetails`` with
the refused field on a 422):

1. ``Authorization: Bearer`` is a live access token (-> 401 ``INVALID_ACCESS_TOKEN``, 65600; an expired one
   -> 401 ``EXPIRED_ACCESS_TOKEN``);
2. ``LinkedIn-Version`` is present (-> 400 ``VERSION_MISSING``) and served (older than a year or unknown ->
   426 ``NONEXISTENT_VERSION``), ``X-Restli-Protocol-Version: 2.0.0`` is sent (-> 400);
3. any scripted reply (:meth:`FakeLinkedIn.then`; :func:`answer_lost`: created, then the answer is lost);
4. ``POST /rest/posts``: a JSON body with exactly the organisation post's fields (``author`` the page the
   token administers -> 403 ``ACCESS_DENIED``; ``visibility``, ``distribution``, ``lifecycleState``,
   ``isReshareDisabledByAuthor``, ``content.article.source`` an http(s) URL -> 422 naming the field), a
   ``commentary`` of at most 3,000 characters (-> 422 ``/commentary``), and a repeat of a post ->
   422 "Content is a duplicate of urn:li:share:..."; then 201 with the URN in ``x-restli-id`` and no body.
   As LinkedIn does, the stored commentary is cut at the first *unescaped* reserved little-text character,
   so a test sees what escaping saved;
5. ``GET /rest/posts?author=<urn>&q=author&count=N`` with ``X-RestLi-Method: FINDER``: the page's posts,
   newest first, as ``{"elements": [...], "paging": {...}}``;
6. ``POST https://www.linkedin.com/oauth/v2/accessToken`` (form: ``grant_type=refresh_token``,
   ``refresh_token``, ``client_id``, ``client_secret``): a new 60-day access token, the same refresh token,
   its remaining lifetime in ``refresh_token_expires_in`` (LinkedIn never extends it); a wrong client ->
   401 ``invalid_client``, an unknown or ended refresh token -> 400 ``invalid_grant``.

Time is ``time.time`` (the ``clock`` fixture pins it). Every request is kept in :attr:`seen`.
"""

from __future__ import annotations

import io
import json
import time
from collections import deque
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from distro.platforms.linkedin import RESERVED
from tests.fakes.x_api import Reply, Seen

ORGANIZATION_ID = "2414183"
AUTHOR = f"urn:li:organization:{ORGANIZATION_ID}"
TOKEN = "AQVlinkedinAccessTokenForTestsOnly0123456789abcdefABCDEF"
REFRESH_TOKEN = "AQWlinkedinRefreshTokenForTestsOnly0123456789abcdefABCDEF"
CLIENT_ID = "86testclientid"
CLIENT_SECRET = "WPL_AP1.testclientsecret.0123"
VERSIONS = frozenset({"202607", "202606", "202601", "202512"})
DAY = 86400.0
ACCESS_LIFETIME = 60 * DAY
REFRESH_LIFETIME = 365 * DAY
POST_KEYS = {
    "author",
    "commentary",
    "visibility",
    "distribution",
    "content",
    "lifecycleState",
    "isReshareDisabledByAuthor",
}


def error(status: int, message: str, code: str, service: int = 100, **extra: Any) -> Reply:
    return Reply(
        status, {"status": status, "serviceErrorCode": service, "code": code, "message": message, **extra}
    )


def invalid_field(path: str, description: str) -> Reply:
    details = {
        "inputErrors": [
            {"description": description, "input": {"inputPath": {"fieldPath": path}}, "code": "INVALID_VALUE"}
        ]
    }
    return error(422, f"ERROR :: {path} :: {description}", "UNPROCESSABLE_ENTITY", errorDetails=details)


def too_many_requests(headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        429,
        {
            "status": 429,
            "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
        },
        headers or {},
    )


class AnswerLost(Exception):
    """Scripted: the post is created, then the connection drops before the answer."""


def answer_lost() -> AnswerLost:
    return AnswerLost()


def stored_commentary(commentary: str) -> str:
    """What LinkedIn keeps of a commentary: everything before its first unescaped reserved character."""
    kept, escaped = [], False
    for char in commentary:
        if escaped:
            kept.append(char)
            escaped = False
        elif char == "\\":
            kept.append(char)
            escaped = True
        elif char in RESERVED and char != "#":  # a bare "#" starts a hashtag, which LinkedIn keeps
            break
        else:
            kept.append(char)
    return "".join(kept)


class FakeLinkedIn(BaseAdapter):
    def __init__(self, *, organization_id: str = ORGANIZATION_ID, age_days: float = 1.0) -> None:
        super().__init__()
        self.author = f"urn:li:organization:{organization_id}"
        self.tokens: dict[str, float] = {TOKEN: time.time() - age_days * DAY}  # token -> issued
        self.refresh_tokens: dict[str, float] = {REFRESH_TOKEN: time.time() - age_days * DAY}
        self.posts: list[dict[str, Any]] = []  # newest last
        self.seen: list[Seen] = []
        self._script: deque[Reply | Exception] = deque()

    def then(self, *outcomes: Reply | Exception) -> FakeLinkedIn:
        self._script.extend(outcomes)
        return self

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        seen = Seen(str(request.method), str(request.url), dict(request.headers), body, kwargs.get("timeout"))
        self.seen.append(seen)
        reply = self._answer(seen)
        if isinstance(reply, Exception):
            raise reply
        return _response(request, reply, self)

    def close(self) -> None:
        return None

    def _answer(self, seen: Seen) -> Reply | Exception:
        url = urlsplit(seen.url)
        if (
            url.hostname == "www.linkedin.com"
            and url.path == "/oauth/v2/accessToken"
            and seen.method == "POST"
        ):
            return self._refresh(dict(parse_qsl(seen.body.decode())))
        if url.hostname != "api.linkedin.com" or url.path != "/rest/posts":
            return error(404, f"No virtual resource found for {url.path}", "NOT_FOUND")
        headers = CaseInsensitiveDict(seen.headers)
        refused = self._refusal(headers)
        if refused is not None:
            return refused
        if self._script:
            scripted = self._script.popleft()
            if not isinstance(scripted, AnswerLost):
                return scripted
            made = self._create(seen)
            return requests.exceptions.ReadTimeout("read timed out") if made.status == 201 else made
        if seen.method == "GET":
            return self._find(dict(parse_qsl(url.query)), headers)
        return (
            self._create(seen)
            if seen.method == "POST"
            else error(405, "Method not allowed", "METHOD_NOT_ALLOWED")
        )

    def _refusal(self, headers: CaseInsensitiveDict[str]) -> Reply | None:
        bearer = headers.get("Authorization", "")
        token = bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else ""
        issued = self.tokens.get(token)
        if issued is None:
            return error(401, "Invalid access token", "INVALID_ACCESS_TOKEN", 65600)
        if time.time() >= issued + ACCESS_LIFETIME:
            return error(401, "The token used in the request has expired", "EXPIRED_ACCESS_TOKEN", 65601)
        version = headers.get("LinkedIn-Version")
        if not version:
            return error(
                400,
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
                "VERSION_MISSING",
            )
        if version not in VERSIONS:
            return error(426, f"Requested version {version} is not active", "NONEXISTENT_VERSION")
        if headers.get("X-Restli-Protocol-Version") != "2.0.0":
            return error(
                400, "This API requires the X-Restli-Protocol-Version: 2.0.0 header", "ILLEGAL_ARGUMENT"
            )
        return None

    def _create(self, seen: Seen) -> Reply:
        if not seen.headers.get("Content-Type", "").startswith("application/json"):
            return error(415, "Unsupported Media Type", "UNSUPPORTED_MEDIA_TYPE")
        body = json.loads(seen.body or b"{}")
        problem = self._problem(body)
        if problem is not None:
            return problem
        for post in self.posts:
            if post["commentary"] == stored_commentary(body["commentary"]) and post.get(
                "content"
            ) == body.get("content"):
                return error(422, f"Content is a duplicate of {post['id']}", "DUPLICATE_POST", 99)
        urn = f"urn:li:share:{7270000000000000000 + len(self.posts) + 1}"
        self.posts.append(
            {
                **body,
                "id": urn,
                "commentary": stored_commentary(body["commentary"]),
                "createdAt": int(time.time() * 1000),
            }
        )
        return Reply(201, {}, {"x-restli-id": urn, "x-linkedin-id": urn.rsplit(":", 1)[1]})

    def _problem(self, body: Any) -> Reply | None:
        if not isinstance(body, dict) or set(body) - POST_KEYS:
            return invalid_field(
                "/",
                f"Unrecognized fields {sorted(set(body) - POST_KEYS) if isinstance(body, dict) else body}",
            )
        if body.get("author") != self.author:
            return error(403, f"Not enough permissions to post as {body.get('author')}", "ACCESS_DENIED")
        commentary = body.get("commentary")
        if not isinstance(commentary, str):
            return invalid_field("/commentary", "is required")
        if len(commentary) > 3000:
            return invalid_field("/commentary", f"length {len(commentary)} exceeds the maximum 3000")
        expected = {
            "/visibility": ("PUBLIC", body.get("visibility")),
            "/lifecycleState": ("PUBLISHED", body.get("lifecycleState")),
            "/distribution": (
                {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
                body.get("distribution"),
            ),
            "/isReshareDisabledByAuthor": (False, body.get("isReshareDisabledByAuthor")),
        }
        for path, (want, got) in expected.items():
            if want != got:
                return invalid_field(path, f"has an invalid value {got!r}")
        article = (body.get("content") or {}).get("article") if "content" in body else {"source": "https://x"}
        if not isinstance(article, dict) or not str(article.get("source", "")).startswith(
            ("https://", "http://")
        ):
            return invalid_field("/content/article/source", "must be a URL")
        return None

    def _find(self, params: dict[str, str], headers: CaseInsensitiveDict[str]) -> Reply:
        if headers.get("X-RestLi-Method") != "FINDER" or params.get("q") != "author":
            return error(
                400, "Invalid finder request: q=author needs X-RestLi-Method: FINDER", "ILLEGAL_ARGUMENT"
            )
        if params.get("author") != self.author:
            return error(
                403, f"Not enough permissions to read the posts of {params.get('author')}", "ACCESS_DENIED"
            )
        count = int(params.get("count") or 10)
        elements = list(reversed(self.posts))[:count]
        return Reply(200, {"elements": elements, "paging": {"start": 0, "count": count, "links": []}})

    def _refresh(self, form: dict[str, str]) -> Reply:
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return Reply(
                401, {"error": "invalid_client", "error_description": "Client authentication failed"}
            )
        issued = self.refresh_tokens.get(form.get("refresh_token", ""))
        if (
            form.get("grant_type") != "refresh_token"
            or issued is None
            or time.time() >= issued + REFRESH_LIFETIME
        ):
            return Reply(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": (
                        "The provided authorization grant or refresh token is invalid, expired or revoked"
                    ),
                },
            )
        fresh = f"AQVrefreshed{len(self.tokens)}{int(time.time())}"
        self.tokens[fresh] = time.time()
        left = int(issued + REFRESH_LIFETIME - time.time())
        return Reply(
            200,
            {
                "access_token": fresh,
                "expires_in": int(min(ACCESS_LIFETIME, left)),
                "refresh_token": form["refresh_token"],
                "refresh_token_expires_in": left,
                "scope": "r_organization_social,w_organization_social",
            },
        )


def _response(request: requests.PreparedRequest, reply: Reply, adapter: BaseAdapter) -> requests.Response:
    """A real ``requests.Response``; a 201 carries no body, as LinkedIn sends none."""
    content = b"" if reply.status == 201 else json.dumps(reply.body).encode()
    response = requests.Response()
    response.status_code = reply.status
    response.reason = {
        200: "OK",
        201: "Created",
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        422: "Unprocessable Entity",
        426: "Upgrade Required",
        429: "Too Many Requests",
    }.get(reply.status, "Unknown")
    response.headers = CaseInsensitiveDict(
        {**({"content-type": "application/json"} if content else {}), **reply.headers}
    )
    response._content = content
    response.raw = io.BytesIO(content)
    response.encoding = "utf-8"
    response.url = str(request.url)
    response.request = request
    response.connection = adapter
    return response
