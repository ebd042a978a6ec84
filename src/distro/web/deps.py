"""What every router shares: the App as a dependency, and a bounded body reader."""

from __future__ import annotations

from typing import Annotated

import fastapi

from distro.app import App

MAX_BODY_BYTES = 2 * 1024 * 1024


def get_app(request: fastapi.Request) -> App:
    """The App the web app was created with (``create_web_app`` puts it on ``app.state``)."""
    app: App = request.app.state.distro
    return app


AppDep = Annotated[App, fastapi.Depends(get_app)]


async def read_limited(request: fastapi.Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The raw body, or None once it passes ``limit`` bytes (whatever Content-Length claims)."""
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
