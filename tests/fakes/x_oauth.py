"""A fake of X's OAuth 1.0a PIN flow at the transport level, checked by oauthlib's own server endpoints.

:class:`FakeXOAuth` is a ``requests`` transport adapter answering ``POST https://api.x.com/oauth/
request_token`` and ``/oauth/access_token`` (api.twitter.com too) with oauthlib's ``RequestTokenEndpoint``
and ``AccessTokenEndpoint``: the HMAC-SHA1 signature, the ``oob`` callback, nonces, the request token and
the PIN (verifier) are all verified as a real provider would. :meth:`FakeXOAuth.authorize` plays the
editor clicking "Authorize app" and returns the PIN X would show. Access tokens look like X's,
``<user id>-<random>``, and the body carries ``user_id`` and ``screen_name`` as X's does.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

import requests
from oauthlib.common import UNICODE_ASCII_CHARACTER_SET, generate_token
from oauthlib.oauth1 import AccessTokenEndpoint, RequestTokenEndpoint, RequestValidator
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from tests.fakes.x_api import CONSUMER_KEY, CONSUMER_SECRET

HOSTS = frozenset({"api.x.com", "api.twitter.com"})
USER_ID = "1849370773112"
SCREEN_NAME = "thedesk"


class _Validator(RequestValidator):
    """One app; request tokens, their PINs and issued access tokens kept in memory."""

    allowed_signature_methods = ("HMAC-SHA1",)
    safe_characters = set(UNICODE_ASCII_CHARACTER_SET) | {"-"}
    client_key_length = (10, 64)
    request_token_length = (20, 64)
    access_token_length = (20, 80)
    nonce_length = (8, 64)
    verifier_length = (7, 7)  # X's PINs are seven digits
    enforce_ssl = True
    dummy_client = "dummy-client-key-0000"
    dummy_request_token = "dummy-request-token-000000000"

    def __init__(self, consumer: tuple[str, str]) -> None:
        super().__init__()
        self.consumer = consumer
        self.nonces: set[tuple[str, str, str]] = set()
        self.request_tokens: dict[str, str] = {}  # token -> secret
        self.pins: dict[str, str] = {}  # token -> PIN, once authorised
        self.access_tokens: dict[str, str] = {}

    def validate_client_key(self, client_key: str, request: Any) -> bool:
        return client_key == self.consumer[0]

    def get_client_secret(self, client_key: str, request: Any) -> str:
        return self.consumer[1] if client_key == self.consumer[0] else "dummy-secret"

    def validate_timestamp_and_nonce(
        self, client_key: str, timestamp: str, nonce: str, request: Any, **tokens: Any
    ) -> bool:
        seen = (client_key, timestamp, nonce)
        if seen in self.nonces:
            return False
        self.nonces.add(seen)
        return True

    def get_default_realms(self, client_key: str, request: Any) -> list[str]:
        return []

    def validate_requested_realms(self, client_key: str, realms: Any, request: Any) -> bool:
        return True

    def validate_redirect_uri(self, client_key: str, redirect_uri: str, request: Any) -> bool:
        return redirect_uri == "oob"  # the PIN flow; X also takes registered callbacks

    def save_request_token(self, token: dict[str, Any], request: Any) -> None:
        self.request_tokens[token["oauth_token"]] = token["oauth_token_secret"]

    def validate_request_token(self, client_key: str, token: str, request: Any) -> bool:
        return token in self.request_tokens

    def get_request_token_secret(self, client_key: str, token: str, request: Any) -> str:
        return self.request_tokens.get(token, "dummy-secret")

    def validate_verifier(self, client_key: str, token: str, verifier: str, request: Any) -> bool:
        return token in self.pins and secrets.compare_digest(self.pins[token], verifier)

    def get_realms(self, token: str, request: Any) -> list[str]:
        return []

    def invalidate_request_token(self, client_key: str, request_token: str, request: Any) -> None:
        self.request_tokens.pop(request_token, None)
        self.pins.pop(request_token, None)

    def save_access_token(self, token: dict[str, Any], request: Any) -> None:
        self.access_tokens[token["oauth_token"]] = token["oauth_token_secret"]


class FakeXOAuth(BaseAdapter):
    """The two token endpoints of X's OAuth 1.0a flow; see the module docstring."""

    def __init__(self, *, consumer_key: str = CONSUMER_KEY, consumer_secret: str = CONSUMER_SECRET) -> None:
        super().__init__()
        self.validator = _Validator((consumer_key, consumer_secret))
        self._request_tokens = RequestTokenEndpoint(self.validator)
        self._access_tokens = AccessTokenEndpoint(self.validator, token_generator=self._x_token)
        self.seen: list[tuple[str, str, Any, int]] = []  # method, url, timeout, status

    @staticmethod
    def _x_token(request: Any = None) -> str:
        return f"{USER_ID}-{generate_token(40)}"

    def authorize(self, oauth_token: str) -> str:
        """The editor authorises the app for ``oauth_token``; returns the PIN X shows."""
        assert oauth_token in self.validator.request_tokens, "unknown request token"
        pin = f"{secrets.randbelow(10**7):07d}"
        self.validator.pins[oauth_token] = pin
        return pin

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, **_: Any):  # type: ignore[no-untyped-def]
        url = urlsplit(str(request.url))
        body = request.body or ""
        body = body.decode() if isinstance(body, bytes) else body
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        credentials = {"user_id": USER_ID, "screen_name": SCREEN_NAME}
        if url.hostname not in HOSTS or request.method != "POST":
            status, text = 404, "Not Found"
        elif url.path == "/oauth/request_token":
            _, text, status = self._request_tokens.create_request_token_response(
                str(request.url), "POST", body, headers
            )
        elif url.path == "/oauth/access_token":
            _, text, status = self._access_tokens.create_access_token_response(
                str(request.url), "POST", body, headers, credentials=credentials
            )
        else:
            status, text = 404, "Not Found"
        self.seen.append((str(request.method), str(request.url), timeout, status))
        return _response(request, status, text or "", self)

    def close(self) -> None:
        return None


def _response(
    request: requests.PreparedRequest, status: int, text: str, adapter: BaseAdapter
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized"}.get(status, "Error")
    response.headers = CaseInsensitiveDict({"content-type": "application/x-www-form-urlencoded"})
    response._content = text.encode()
    response.encoding = "utf-8"
    response.url = str(request.url)
    response.request = request
    response.connection = adapter
    return response
