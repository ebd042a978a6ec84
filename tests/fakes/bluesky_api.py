"""A fake Bluesky PDS as an ``httpx`` transport, for tests that run the real atproto SDK code.

Pass :class:`FakePDS` as the channel's ``transport``. It serves ``com.atproto.server.createSession``
(handle + app password -> access JWT and DID; wrong password -> 401 AuthenticationRequired),
``com.atproto.repo.createRecord`` and ``getRecord``, and checks what the PDS checks: the bearer JWT, that
``repo`` is the session's DID, the record key is a TID, the text is at most 300 graphemes, and every facet's
``byteStart``/``byteEnd`` fall inside the UTF-8 text (the fake keeps the bytes each facet covers, so tests
can compare them with the link). A record key used twice -> 400 "Record already exists".
"""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any

import httpx
import regex

HANDLE = "desk.example.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
JWT = "eyJhbGciOiJIUzI1NiJ9.fake-access.jwt"
_TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def error(status: int, name: str, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": name, "message": message}, headers=headers or {})


class FakePDS(httpx.BaseTransport):
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.facet_bytes: list[bytes] = []
        self.requests: list[httpx.Request] = []
        self._script: deque[httpx.Response | Exception] = deque()

    def then(self, *outcomes: httpx.Response | Exception) -> FakePDS:
        self._script.extend(outcomes)
        return self

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        method = request.url.path.rsplit("/", 1)[-1]
        if method == "com.atproto.server.createSession":
            data = json.loads(request.content)
            if data.get("identifier") != HANDLE or data.get("password") != APP_PASSWORD:
                return error(401, "AuthenticationRequired", "Invalid identifier or password")
            return httpx.Response(
                200,
                json={
                    "accessJwt": JWT,
                    "refreshJwt": JWT + ".r",
                    "handle": HANDLE,
                    "did": DID,
                    "active": True,
                },
            )
        if request.headers.get("Authorization") != f"Bearer {JWT}":
            return error(401, "AuthenticationRequired", "Authentication Required")
        if method == "com.atproto.repo.getRecord":
            rkey = request.url.params.get("rkey", "")
            if rkey not in self.records:
                return error(400, "RecordNotFound", f"Could not locate record: {rkey}")
            return httpx.Response(
                200, json={"uri": self._uri(rkey), "cid": "bafyfake", "value": self.records[rkey]}
            )
        if method != "com.atproto.repo.createRecord":
            return error(501, "MethodNotImplemented", f"{method} is not served here")
        return self._create(json.loads(request.content))

    def _create(self, data: dict[str, Any]) -> httpx.Response:
        if data.get("repo") != DID or data.get("collection") != "app.bsky.feed.post":
            return error(
                400, "InvalidRequest", "repo must be the session's DID; collection app.bsky.feed.post"
            )
        rkey = str(data.get("rkey", ""))
        if not _TID.match(rkey):
            return error(400, "InvalidRequest", f"Invalid record key: {rkey}")
        record = data.get("record") or {}
        text = record.get("text", "")
        if len(regex.findall(r"\X", text)) > 300:
            return error(
                400,
                "InvalidRequest",
                "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes",
            )
        encoded = text.encode("utf-8")
        for facet in record.get("facets", []):
            start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
            if not 0 <= start < end <= len(encoded):
                return error(400, "InvalidRequest", "facet index out of range")
            self.facet_bytes.append(encoded[start:end])
        if rkey in self.records:
            return error(400, "InvalidRequest", "Record already exists")
        if self._script:
            scripted = self._script.popleft()
            if isinstance(scripted, Exception):  # the record is written, then the answer is lost
                self.records[rkey] = record
                raise scripted
            return scripted
        self.records[rkey] = record
        return httpx.Response(200, json={"uri": self._uri(rkey), "cid": "bafyreifakecid"})

    @staticmethod
    def _uri(rkey: str) -> str:
        return f"at://{DID}/app.bsky.feed.post/{rkey}"
