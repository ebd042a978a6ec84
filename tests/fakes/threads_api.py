"""A fake Threads API (``graph.threads.net``) at the transport level, for tests of the real channel code.

:class:`FakeThreads` is a ``requests`` transport adapter: mount it on the channel's session
(``session.mount("https://", fake)``). It checks what Meta's Threads API checks, in that order, and answers
with Graph's error shape (``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``):

1. the host and the path's version (``v1.0``; another, or an unknown edge -> 400 code 2500), and that the
   path's user is the token's (-> 400 code 100);
2. ``access_token`` in the query (GET) or the form body (POST), never needed in a header: missing -> 400
   code 2500 "An active access token must be used", unknown -> 400 code 190, past its 60 days -> 400 code
   190 subcode 463 "Session has expired";
3. any outcome scripted for the method and edge with :meth:`FakeThreads.on` (:func:`answer_lost`: done,
   then the answer never arrives);
4. ``POST /{id}/threads``: ``media_type=TEXT`` with a ``text`` of at most 500 as Threads counts it (-> 400
   code 100) and at most 5 links (-> 400 code 100, ``THREADS_API__LINK_LIMIT_EXCEEDED``); a container id;
5. ``POST /{id}/threads_publish``: ``creation_id`` must be an unpublished container of this user (-> 400
   code 24 subcode 4279009), and the profile under 250 posts in the moving 24 hours (-> 400 code 4);
   the media id. Publishing before the container exists is therefore refused, as Threads refuses it.
6. ``GET /{id}/threads_publishing_limit``: ``{"data": [{"quota_usage", "config": {"quota_total",
   "quota_duration"}}]}``; ``GET /{id}/threads``: the profile's posts newest first with the asked
   ``fields`` (``since``, ``limit`` and ``after`` paging honoured); ``GET /me``: id and username;
7. ``GET /refresh_access_token?grant_type=th_refresh_token``: a token at least 24 hours old and not expired
   becomes a new 60-day one (``{"access_token", "token_type", "expires_in"}``), and the old one stops
   working here (Meta does not say it does; retiring it proves the channel uses the new one).

Meta documents the publishing limit but not the body of its refusal; step 5 answers Graph's rate-limit
shape. Time is ``time.time`` (the ``clock`` fixture pins it). Every request is kept in :attr:`seen`.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import BaseAdapter

from distro.platforms.threads import LIMIT, MAX_LINKS, length, links
from tests.fakes.x_api import Reply, Seen, _response

HOST = "graph.threads.net"
VERSION = "v1.0"
USER_ID = "17841400000000001"
USERNAME = "meridianreview"
TOKEN = "THAAGm0PX4ZCpsBAThreadsTokenForTestsOnly0ZBxYzQ2ZCZAbcDEF"
DAY = 86400.0
LIFETIME = 60 * DAY
QUOTA = 250


def graph_error(code: int, message: str, *, subcode: int | None = None, **extra: Any) -> Reply:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    return Reply(400, {"error": {**error, **extra, "fbtrace_id": "AbCdEfThreads"}})


class AnswerLost(Exception):
    """Scripted: the call is carried out, then the connection drops before the answer."""


def answer_lost() -> AnswerLost:
    return AnswerLost()


@dataclass
class Post:
    id: str
    text: str
    timestamp: float
    link: str | None = None


class FakeThreads(BaseAdapter):
    def __init__(self, token: str = TOKEN, *, age_days: float = 1.0, user_id: str = USER_ID) -> None:
        super().__init__()
        self.user_id = user_id
        self.tokens: dict[str, float] = {}  # token -> when it was issued (time.time)
        self.issue(token, age_days)
        self.containers: dict[str, dict[str, str]] = {}
        self.published: set[str] = set()
        self.posts: list[Post] = []  # newest last
        self.seen: list[Seen] = []
        self._script: dict[str, deque[Reply | Exception]] = {}

    def issue(self, token: str, age_days: float) -> None:
        """Make ``token`` valid, issued ``age_days`` ago (it ends 60 days after that)."""
        self.tokens[token] = time.time() - age_days * DAY

    def on(self, edge: str, *outcomes: Reply | Exception, method: str = "POST") -> FakeThreads:
        """Answer the next calls of ``method`` on ``edge`` with ``outcomes`` (after the token check)."""
        self._script.setdefault(f"{method} {edge}", deque()).extend(outcomes)
        return self

    def add_post(self, text: str, *, hours_ago: float = 0.0) -> Post:
        post = Post(str(18000000000000000 + len(self.posts) + 1), text, time.time() - hours_ago * 3600)
        self.posts.append(post)
        self.posts.sort(key=lambda p: p.timestamp)
        return post

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

    def params(self, seen: Seen) -> dict[str, str]:
        query = dict(parse_qsl(urlsplit(seen.url).query, keep_blank_values=True))
        if seen.method == "POST":
            query |= dict(parse_qsl(seen.body.decode(), keep_blank_values=True))
        return query

    def _answer(self, seen: Seen) -> Reply | Exception:
        url, params = urlsplit(seen.url), self.params(seen)
        parts = url.path.strip("/").split("/")
        if url.hostname != HOST:
            return graph_error(2500, "Unknown host")
        if parts == ["refresh_access_token"] and seen.method == "GET":
            return self._refresh(params)
        if len(parts) < 2 or parts[0] != VERSION:
            return graph_error(2500, f"Unknown path components: /{'/'.join(parts)}")
        refused = self._token_problem(params.get("access_token"))
        if refused is not None:
            return refused
        if parts[1:] == ["me"]:
            return Reply(200, {"id": self.user_id, "username": USERNAME})
        if len(parts) != 3 or parts[1] != self.user_id:
            return graph_error(100, f"Object with ID '{parts[1]}' does not exist or cannot be loaded")
        edge = parts[2]
        script = self._script.get(f"{seen.method} {edge}")
        if script:
            scripted = script.popleft()
            if not isinstance(scripted, AnswerLost):
                return scripted
            answered = self._route(seen.method, edge, params)
            return requests.exceptions.ReadTimeout("read timed out") if answered.status < 400 else answered
        return self._route(seen.method, edge, params)

    def _route(self, method: str, edge: str, params: dict[str, str]) -> Reply:
        if (method, edge) == ("POST", "threads"):
            return self._container(params)
        if (method, edge) == ("POST", "threads_publish"):
            return self._publish(params.get("creation_id", ""))
        if (method, edge) == ("GET", "threads_publishing_limit"):
            usage = sum(1 for p in self.posts if p.timestamp > time.time() - DAY)
            return Reply(
                200,
                {"data": [{"quota_usage": usage, "config": {"quota_total": QUOTA, "quota_duration": 86400}}]},
            )
        if (method, edge) == ("GET", "threads"):
            return self._listing(params)
        return graph_error(2500, f"Unsupported {method.lower()} request: {edge}")

    def _token_problem(self, token: str | None) -> Reply | None:
        if not token:
            return graph_error(
                2500, "An active access token must be used to query information about the current user."
            )
        issued = self.tokens.get(token)
        if issued is None:
            return graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        if time.time() >= issued + LIFETIME:
            ended = datetime.fromtimestamp(issued + LIFETIME, UTC)
            return graph_error(
                190,
                f"Error validating access token: Session has expired on {ended:%A, %d-%b-%y %H:%M:%S} UTC.",
                subcode=463,
            )
        return None

    def _container(self, params: dict[str, str]) -> Reply:
        text, link = params.get("text", ""), params.get("link_attachment")
        if params.get("media_type") != "TEXT" or not text.strip():
            return graph_error(100, "Param text is required for media_type TEXT")
        if length(text) > LIMIT:
            return graph_error(100, f"Param text must be at most {LIMIT} characters long.", subcode=2207018)
        if links(text, link) > MAX_LINKS:
            return graph_error(
                100, "The post has too many links.", error_user_title="THREADS_API__LINK_LIMIT_EXCEEDED"
            )
        container = str(17890000000000000 + len(self.containers) + 1)
        self.containers[container] = {"text": text, **({"link": link} if link else {})}
        return Reply(200, {"id": container})

    def _publish(self, creation_id: str) -> Reply:
        if creation_id not in self.containers or creation_id in self.published:
            return graph_error(24, "The requested resource does not exist", subcode=4279009)
        if sum(1 for p in self.posts if p.timestamp > time.time() - DAY) >= QUOTA:
            return graph_error(4, "Application request limit reached", is_transient=True)
        self.published.add(creation_id)
        container = self.containers[creation_id]
        post = self.add_post(container["text"])
        post.link = container.get("link")
        return Reply(200, {"id": post.id})

    def _listing(self, params: dict[str, str]) -> Reply:
        fields = params.get("fields", "id").split(",")
        since = float(params.get("since") or 0)
        newest_first = [p for p in reversed(self.posts) if p.timestamp >= since]
        start = int(params.get("after") or 0)
        limit = int(params.get("limit") or 25)
        page = newest_first[start : start + limit]
        data = [self._fields(p, fields) for p in page]
        paging: dict[str, Any] = {"cursors": {"before": str(start), "after": str(start + len(page))}}
        if start + limit < len(newest_first):
            paging["next"] = f"https://{HOST}/{VERSION}/{self.user_id}/threads?after={start + len(page)}"
        return Reply(200, {"data": data, "paging": paging})

    @staticmethod
    def _fields(post: Post, fields: list[str]) -> dict[str, Any]:
        values = {
            "id": post.id,
            "text": post.text,
            "timestamp": datetime.fromtimestamp(post.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "link_attachment_url": post.link,
        }
        return {f: values[f] for f in fields if f in values and values[f] is not None}

    def _refresh(self, params: dict[str, str]) -> Reply:
        if params.get("grant_type") != "th_refresh_token":
            return graph_error(100, "Invalid grant_type")
        token = params.get("access_token", "")
        refused = self._token_problem(token)
        if refused is not None:
            return refused
        if time.time() - self.tokens[token] < DAY:
            return graph_error(190, "The access token must be at least 24 hours old to be refreshed.")
        fresh = f"{TOKEN[:12]}Refreshed{len(self.tokens)}{int(time.time())}"
        del self.tokens[token]
        self.tokens[fresh] = time.time()
        return Reply(200, {"access_token": fresh, "token_type": "bearer", "expires_in": int(LIFETIME)})


def token_param(seen: Seen) -> str | None:
    """The ``access_token`` a request carried (query or form), for tests that check where it went."""
    query = dict(parse_qsl(urlsplit(seen.url).query))
    form = dict(parse_qsl(seen.body.decode())) if seen.method == "POST" and seen.body else {}
    return query.get("access_token") or form.get("access_token")
