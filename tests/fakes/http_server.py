"""A real HTTP server on 127.0.0.1 for tests that need the wire, not a mock.

Usage::

    with http_server() as server:
        server.route("/feed.xml", body=b"<rss ...>", headers={"ETag": '"v1"'})
        server.route("/slow", body=lambda: slow_chunks())          # streamed, no Content-Length
        server.route("/cond", handler=lambda req: Reply(304) if req.headers.get("If-None-Match") else ...)
        fetch(server.url("/feed.xml"))
        assert server.requests[0].headers["User-Agent"].startswith("distro/")

A route answers with ``status``, ``headers`` and ``body``. ``body`` is bytes (sent with Content-Length
unless the headers already set one, which lets a test lie about the length), or a zero-argument callable
returning an iterable of byte chunks, sent as they come without Content-Length and ended by closing the
connection (HTTP/1.0 style), so endless and slow bodies are easy. ``delay`` waits before the status line.
``handler`` computes the reply from the recorded request instead, for conditional GETs and the like.
Unknown paths answer 404. Every request is recorded in ``server.requests`` in arrival order.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Body = bytes | Callable[[], Iterable[bytes]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # including the query string
    headers: dict[str, str]  # names as sent; look them up with the usual capitalisation
    body: bytes = b""  # POST bodies

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup."""
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""
    delay: float = 0.0


@dataclass
class FakeHTTPServer:
    base_url: str
    routes: dict[str, Callable[[RecordedRequest], Reply]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)

    def route(
        self,
        path: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        body: Body = b"",
        delay: float = 0.0,
        handler: Callable[[RecordedRequest], Reply] | None = None,
    ) -> None:
        """Answer requests for ``path`` (query string ignored) with a fixed reply or ``handler``'s."""
        fixed = Reply(status, dict(headers or {}), body, delay)
        self.routes[path] = handler or (lambda _request: fixed)

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if urlsplit(request.path).path == path]


def _handler_class(state: FakeHTTPServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection; a streamed body ends at close

        def do_GET(self) -> None:  # noqa: N802 - the name http.server looks for
            self._answer(RecordedRequest("GET", self.path, dict(self.headers.items())))

        def do_POST(self) -> None:  # noqa: N802 - the name http.server looks for
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            self._answer(RecordedRequest("POST", self.path, dict(self.headers.items()), body))

        def _answer(self, request: RecordedRequest) -> None:
            state.requests.append(request)
            route = state.routes.get(urlsplit(self.path).path)
            reply = route(request) if route else Reply(404, {"Content-Type": "text/plain"}, b"not found")
            if reply.delay:
                time.sleep(reply.delay)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                self._send(reply)

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if isinstance(reply.body, bytes):
                if not any(name.lower() == "content-length" for name in reply.headers):
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                return
            self.end_headers()
            for chunk in reply.body():
                self.wfile.write(chunk)
                self.wfile.flush()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature from stdlib
            pass

    return Handler


@contextlib.contextmanager
def http_server() -> Iterator[FakeHTTPServer]:
    """Start a server on a free loopback port for the duration of the ``with`` block."""
    state = FakeHTTPServer(base_url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(state))
    server.daemon_threads = True
    server.block_on_close = False  # a handler still streaming an endless body must not hold up teardown
    host, port = server.server_address[:2]
    state.base_url = f"http://{host!s}:{port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def endless(chunk: bytes = b"<item>" + b"x" * 8186 + b"</item>") -> Callable[[], Iterator[bytes]]:
    """A body that never ends; the server stops writing when the client hangs up."""

    def chunks() -> Iterator[bytes]:
        while True:
            yield chunk

    return chunks


def trickle(chunk: bytes, every: float, count: int = 10_000) -> Callable[[], Iterator[bytes]]:
    """A body that sends ``chunk`` every ``every`` seconds, ``count`` times."""

    def chunks() -> Iterator[bytes]:
        for _ in range(count):
            yield chunk
            time.sleep(every)

    return chunks
