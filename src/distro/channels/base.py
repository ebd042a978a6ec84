"""What the dispatcher sees of a channel: ``send`` one message, get a :class:`Receipt` or an error.

The dispatcher knows nothing of SMTP or OAuth. A channel raises :class:`~distro.errors.TemporaryFailure`,
:class:`~distro.errors.RateLimited` or :class:`~distro.errors.PermanentFailure`; anything else it raises
is treated as temporary by the dispatcher. Channels may keep a connection open between ``send`` calls and
must release it in ``close``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar


@dataclass(frozen=True, slots=True)
class EmailOut:
    """One personalised email, ready for the wire."""

    key: str  # the delivery's idempotency key
    sender: str  # envelope sender (MAIL FROM)
    recipient: str  # envelope recipient (RCPT TO)
    data: bytes  # the complete RFC 5322 message, CRLF line endings, not dot-stuffed


@dataclass(frozen=True, slots=True)
class SocialOut:
    """One post for one account, as the exact API request body."""

    key: str
    platform: str  # "x" | "facebook"
    account: str
    body: dict[str, Any] = field(default_factory=dict)
    # The delivery's try number: on a retry a channel first looks for the post among the account's
    # recent posts, since an earlier try may have reached the platform before its answer was lost.
    attempt: int = 1
    # Distro-only intent beside the API body (never written by the file sink): X uploads ``image_url`` at
    # send time with ``alt_text`` and attaches it; ``thread`` holds replies posted under the first post.
    image_url: str | None = None
    alt_text: str = ""
    thread: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Image:
    """An image a channel attaches to a post, as its :data:`ImageFetcher` got it."""

    body: bytes
    content_type: str | None = None  # the server's Content-Type, parameters and all


# How a channel gets a post's image (``SocialOut.image_url``) at send time: injected by the composition
# root, so a channel never imports the fetcher. It raises SourceError when the image cannot be had.
ImageFetcher = Callable[[str], Image]


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof of acceptance: the provider's id (SMTP queue id, tweet id, post id, file name)."""

    provider_id: str
    detail: str = ""


M_contra = TypeVar("M_contra", contravariant=True)


class Channel(Protocol[M_contra]):
    name: str

    def send(self, message: M_contra) -> Receipt: ...

    def close(self) -> None: ...
