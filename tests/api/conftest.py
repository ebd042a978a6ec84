"""An API client on the ``app`` fixture's database (SQLite and PostgreSQL), with a token of each scope.

Requests go through FastAPI's TestClient (httpx against the ASGI app), the whole web app included, so the
mount at /api/v1 and the security headers are what a client meets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import time_machine
from fastapi.testclient import TestClient

from distro.app import App
from distro.services.api_tokens import create_token
from distro.web.app import create_web_app


@dataclass
class Api:
    """The client and the two tokens; ``get``/``post``/... send the write token unless told otherwise."""

    client: TestClient
    app: App
    write: str
    read: str

    def call(self, method: str, path: str, *, token: str | None = "", **options: Any) -> httpx.Response:
        headers = dict(options.pop("headers", {}))
        chosen = self.write if token == "" else token
        if chosen is not None:
            headers["Authorization"] = f"Bearer {chosen}"
        response: httpx.Response = self.client.request(method, f"/api/v1{path}", headers=headers, **options)
        return response

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.call("GET", path, **options)

    def post(self, path: str, **options: Any) -> httpx.Response:
        return self.call("POST", path, **options)

    def patch(self, path: str, **options: Any) -> httpx.Response:
        return self.call("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> httpx.Response:
        return self.call("DELETE", path, **options)


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The RFC 9457 body of an error ``response``, after checking its status and media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"] == "about:blank"
    assert body["title"] and body["detail"]
    return body


@pytest.fixture
def api(app: App, clock: time_machine.Traveller) -> Iterator[Api]:
    write = create_token(app, "cms", "write", actor="cli:test")
    read = create_token(app, "dashboard", "read", actor="cli:test")
    with TestClient(create_web_app(app)) as client:
        yield Api(client, app, write, read)
