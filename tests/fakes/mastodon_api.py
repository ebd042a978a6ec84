"""A fake Mastodon instance at the transport level, for tests that run the real Mastodon.py code.

Mount :class:`FakeMastodon` on the session given to ``Mastodon(session=...)``. ``POST /api/v1/statuses``
checks what Mastodon checks: the bearer token (-> 401 ``{"error": "The access token is invalid"}``), the
status length (500 characters, every URL counted as 23 -> 422 "Validation failed"), and the
``Idempotency-Key`` header: a repeated key returns the first status instead of creating another, as the
server does for an hour. Scripted replies and exceptions (:meth:`then`) come after the token check.
"""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter

from tests.fakes.x_api import Reply, Seen, _response

TOKEN = "mastodon-token-9f8e7d6c5b4a"
HOST = "social.example"
LIMIT = 500
_URL = re.compile(r"https?://\S+")


def unauthorized() -> Reply:
    return Reply(401, {"error": "The access token is invalid"})


def too_many_requests(reset_iso: str) -> Reply:
    headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset_iso}
    return Reply(429, {"error": "Too many requests"}, headers)


def server_error() -> Reply:
    return Reply(503, {"error": "Service Unavailable"})


class FakeMastodon(BaseAdapter):
    def __init__(self, token: str = TOKEN) -> None:
        super().__init__()
        self.token = token
        self._script: deque[Reply | Exception] = deque()
        self._by_key: dict[str, dict[str, Any]] = {}
        self.statuses: list[dict[str, Any]] = []
        self.seen: list[Seen] = []

    def then(self, *outcomes: Reply | Exception) -> FakeMastodon:
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
        if url.hostname != HOST or url.path != "/api/v1/statuses" or seen.method != "POST":
            return Reply(404, {"error": "Record not found"})
        if seen.headers.get("Authorization") != f"Bearer {self.token}":
            return unauthorized()
        params = self._params(seen)
        key = seen.headers.get("Idempotency-Key")
        if key and key in self._by_key:
            return Reply(200, self._by_key[key])
        if self._script:
            scripted = self._script.popleft()
            if isinstance(scripted, Exception):  # the status is created, then the answer is lost
                self._create(params, key)
            return scripted
        text = params.get("status", "")
        if not text.strip():
            return Reply(422, {"error": "Validation failed: Text can't be blank"})
        if len(_URL.sub("x" * 23, text)) > LIMIT:
            return Reply(422, {"error": f"Validation failed: Text character limit of {LIMIT} exceeded"})
        return Reply(200, self._create(params, key))

    def _create(self, params: dict[str, str], key: str | None) -> dict[str, Any]:
        number = str(113000000000000000 + len(self.statuses) + 1)
        status = {
            "id": number,
            "url": f"https://{HOST}/@desk/{number}",
            "content": params.get("status"),
            "visibility": params.get("visibility"),
            "language": params.get("language"),
        }
        self.statuses.append(status)
        if key:
            self._by_key[key] = status
        return status

    @staticmethod
    def _params(seen: Seen) -> dict[str, str]:
        if seen.headers.get("Content-Type", "").startswith("application/json"):
            return {k: str(v) for k, v in json.loads(seen.body or b"{}").items()}
        return {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
