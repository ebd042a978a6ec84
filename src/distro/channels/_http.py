"""A requests session with a default timeout, for client libraries that never pass one (tweepy)."""

from __future__ import annotations

from typing import Any

import requests


class TimeoutSession(requests.Session):
    """A session that gives every request ``timeout`` seconds unless the caller passed its own."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    @classmethod
    def replacing(cls, session: requests.Session, timeout: float) -> TimeoutSession:
        """``session`` with a default timeout; its adapters, headers, hooks and cookies are kept."""
        if isinstance(session, cls):
            session.timeout = timeout
            return session
        replacement = cls(timeout)
        for attribute in requests.Session.__attrs__:  # the state requests itself pickles
            setattr(replacement, attribute, getattr(session, attribute))
        return replacement

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)
