"""Facebook's rules: a Page post of up to 63,206 characters, its feed body and its photo body.

The link of a feed post travels beside the message (Graph turns it into a preview card); a photo post has
no preview, so its link goes into the caption.
"""

from __future__ import annotations

from typing import Any

LIMIT = 63206  # Graph's limit for a Page post's message


def length(text: str) -> int:
    """Graph counts characters (code points)."""
    return len(text)


def build_body(message: str, link: str | None) -> dict[str, Any]:
    """The JSON body of a feed post (``POST /{page_id}/feed``); ``link`` is left out when there is none."""
    body: dict[str, Any] = {"message": message}
    if link is not None:
        body["link"] = link
    return body


def build_photo_body(caption: str, image_url: str) -> dict[str, Any]:
    """The JSON body of a photo post (``POST /{page_id}/photos``): Graph fetches ``url`` itself."""
    return {"caption": caption, "url": image_url}
