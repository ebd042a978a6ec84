"""How ``distro web`` and ``distro run`` start uvicorn: one config, so both trust the same proxies.

uvicorn believes ``X-Forwarded-For`` from 127.0.0.1 unless told otherwise, so behind no proxy (or with
a local client) anyone could pick the address the app sees and with it their own rate-limit bucket.
Here the forwarded headers are read only when ``web.forwarded_allow_ips`` names the proxies, and only
from them. uvicorn's loggers go through distro's root handler (``log_config=None``), so its lines are in
the chosen format and pass the same redaction (:mod:`distro.logs`) as everything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from distro.settings import WebSettings

if TYPE_CHECKING:
    import uvicorn


def server_config(
    asgi_app: Any, web: WebSettings, *, host: str, port: int, log_level: str = "info", **options: Any
) -> uvicorn.Config:
    """A uvicorn config for ``asgi_app`` believing forwarded headers from web.forwarded_allow_ips only."""
    import uvicorn

    trusted = list(web.forwarded_allow_ips)
    return uvicorn.Config(
        asgi_app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=None,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
        **options,
    )


def serve(asgi_app: Any, web: WebSettings, *, host: str, port: int, log_level: str = "info") -> None:
    """Run the server in this thread until SIGINT/SIGTERM."""
    import uvicorn

    uvicorn.Server(server_config(asgi_app, web, host=host, port=port, log_level=log_level)).run()
