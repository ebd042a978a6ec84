"""A fake of Facebook Login's token endpoints and ``/me/accounts`` at the transport level.

:class:`FakeGraphOAuth` is a ``requests`` adapter for an ``OAuth2Session``. It answers, in Graph's shapes:

* ``/{version}/oauth/access_token`` with ``grant_type=authorization_code``: checks ``client_id``,
  ``client_secret``, ``redirect_uri`` and a code it issued (once) -> a short-lived user token;
* ``/{version}/oauth/access_token?grant_type=fb_exchange_token``: checks the app and the short-lived token
  -> a long-lived user token (``expires_in`` about 60 days);
* ``GET /{version}/me/accounts``: the long-lived token as ``Authorization: Bearer`` and its
  ``appsecret_proof`` -> the Pages with their Page access tokens and the editor's tasks.

Errors are Graph's ``{"error": {"message", "type", "code", "fbtrace_id"}}`` bodies.
:meth:`FakeGraphOAuth.login` plays the editor allowing the app in the dialog.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

APP_ID = "1234567890123456"
APP_SECRET = "5f0c3b1e2d4a69788a9b0c1d2e3f4a5b"
PAGE_ID = "100000000000001"
REDIRECT_URI = "https://localhost/"
PAGE_TOKEN = "EAAGPageTokenFromLongLivedUserToken0ZBxYzQ2ZCZAbcDEF"
OTHER_PAGE = {"id": "100000000000777", "name": "Another Page", "access_token": "EAAGOtherPageToken0ZB"}


def _error(message: str, code: int, status: int = 400, type_: str = "OAuthException") -> tuple[int, dict]:
    return status, {"error": {"message": message, "type": type_, "code": code, "fbtrace_id": "AbCdEfGh123"}}


class FakeGraphOAuth(BaseAdapter):
    def __init__(
        self, *, tasks: tuple[str, ...] = ("ANALYZE", "CREATE_CONTENT", "MODERATE", "MANAGE")
    ) -> None:
        super().__init__()
        self.tasks = list(tasks)
        self.codes: set[str] = set()
        self.short_tokens: set[str] = set()
        self.long_tokens: set[str] = set()
        self.seen: list[
            tuple[str, str, dict[str, str], Any, int]
        ] = []  # method, path, params, timeout, status

    def login(self, dialog_url: str) -> str:
        """The editor allows the app; returns the address Facebook redirects to (``#_=_`` included)."""
        query = dict(parse_qsl(urlsplit(dialog_url).query))
        assert query["client_id"] == APP_ID and query["redirect_uri"] == REDIRECT_URI
        assert "pages_manage_posts" in query["scope"]
        code = "AQ" + secrets.token_urlsafe(48)
        self.codes.add(code)
        return f"{REDIRECT_URI}?{urlencode({'code': code, 'state': query['state']})}#_=_"

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, **_: Any):  # type: ignore[no-untyped-def]
        url = urlsplit(str(request.url))
        body = request.body or ""
        body = body.decode() if isinstance(body, bytes) else body
        params = {**dict(parse_qsl(url.query)), **dict(parse_qsl(body))}
        auth = request.headers.get("Authorization", "")
        if url.hostname != "graph.facebook.com":
            status, reply = _error("Unknown host", 1, 404)
        elif url.path.endswith("/oauth/access_token"):
            status, reply = self._token(params)
        elif url.path.endswith("/me/accounts") and request.method == "GET":
            status, reply = self._accounts(auth.removeprefix("Bearer "), params)
        else:
            status, reply = _error(f"Unknown path components: {url.path}", 2500)
        self.seen.append((str(request.method), url.path, params, timeout, status))
        return _response(request, status, reply, self)

    def close(self) -> None:
        return None

    def _token(self, params: dict[str, str]) -> tuple[int, dict]:
        if params.get("client_id") != APP_ID:
            return _error("Error validating application. Invalid application ID.", 101)
        if not hmac.compare_digest(params.get("client_secret", ""), APP_SECRET):
            return _error("Error validating client secret.", 1)
        if params.get("grant_type") == "fb_exchange_token":
            if params.get("fb_exchange_token") not in self.short_tokens:
                return _error("Invalid OAuth access token - Cannot parse access token", 190)
            token = "EAAGLong" + secrets.token_urlsafe(40)
            self.long_tokens.add(token)
            return 200, {"access_token": token, "token_type": "bearer", "expires_in": 5183944}
        if params.get("redirect_uri") != REDIRECT_URI:
            return _error(
                "Error validating verification code. Please make sure your redirect_uri is identical", 100
            )
        code = params.get("code", "")
        if code not in self.codes:
            return _error("This authorization code has been used.", 100)
        self.codes.discard(code)
        token = "EAAGShort" + secrets.token_urlsafe(40)
        self.short_tokens.add(token)
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": 5183}

    def _accounts(self, token: str, params: dict[str, str]) -> tuple[int, dict]:
        if token not in self.long_tokens:
            return _error("Invalid OAuth access token - Cannot parse access token", 190)
        proof = hmac.new(APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(params.get("appsecret_proof", ""), proof):
            return _error(
                "Invalid appsecret_proof provided in the API argument", 100, type_="GraphMethodException"
            )
        page = {"access_token": PAGE_TOKEN, "category": "News & media website", "name": "The Meridian Review"}
        pages = [OTHER_PAGE | {"tasks": ["ANALYZE"]}, page | {"id": PAGE_ID, "tasks": self.tasks}]
        return 200, {"data": pages, "paging": {"cursors": {"before": "QVFIUmFa", "after": "QVFIUnBa"}}}


def _response(
    request: requests.PreparedRequest, status: int, body: dict, adapter: BaseAdapter
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    response.headers = CaseInsensitiveDict({"content-type": "application/json; charset=UTF-8"})
    response._content = json.dumps(body).encode()
    response.encoding = "utf-8"
    response.url = str(request.url)
    response.request = request
    response.connection = adapter
    return response
