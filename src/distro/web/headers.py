"""Headers every response gets, and HEAD answered wherever GET is.

A route's own headers win (the desk's policy, a preview's ``sandbox``); what a route did not set is
filled in here, so no page, error page or JSON answer goes out without them:

- ``Content-Security-Policy``: the subscriber pages' policy. They use inline styles only: no script, no
  remote resource, forms post back here only, and no other site may frame them (clickjacking an
  unsubscribe or preferences button).
- ``X-Content-Type-Options: nosniff`` and ``X-Frame-Options: DENY``.
- ``Referrer-Policy: no-referrer``: subscriber links carry their token in the path, and a referrer would
  hand it to any site the page links to or loads from.

FastAPI answers HEAD with 405 for a GET route; monitors and link checkers send HEAD. Here a HEAD is run as
the GET it stands for and answered with that GET's status and headers, without the body; the route can
still tell (:func:`was_head`), for a HEAD is not a click (:mod:`distro.web.redirect`).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SUBSCRIBER_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
DEFAULT_HEADERS = {
    "Content-Security-Policy": SUBSCRIBER_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
HEAD_KEY = "distro.head"  # set in the ASGI scope of a HEAD run as GET


def was_head(request: Request) -> bool:
    """Whether the request was a HEAD (which this middleware runs as a GET)."""
    return bool(request.scope.get(HEAD_KEY))


class SecurityHeaders:
    """ASGI middleware: :data:`DEFAULT_HEADERS` where the response has none of its own; HEAD as GET."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET", HEAD_KEY: True}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", []))
                headers = MutableHeaders(scope=message)
                for name, value in DEFAULT_HEADERS.items():
                    headers.setdefault(name, value)
            elif message["type"] == "http.response.body" and head:
                if message.get("more_body", False):
                    return  # the GET's body is dropped; its Content-Length stays, as HEAD wants
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(scope, receive, send_with_headers)
