"""Reading the subscriber pages' forms: urlencoded, or multipart as RFC 8058 one-click mail clients post."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import HTTP
from urllib.parse import parse_qs

import fastapi

from distro.web.deps import read_limited

FORM_LIMIT = 16 * 1024


async def read_form(request: fastapi.Request) -> dict[str, list[str]] | None:
    """The posted form (urlencoded or multipart), or None when the body is over :data:`FORM_LIMIT`."""
    body = await read_limited(request, FORM_LIMIT)
    if body is None:
        return None
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        return multipart_fields(content_type, body)  # RFC 8058: how mail clients SHOULD post one-click
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def multipart_fields(content_type: str, body: bytes) -> dict[str, list[str]]:
    """The text fields of a multipart/form-data body (file parts ignored), read by the stdlib MIME parser."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = message_from_bytes(head + body, policy=HTTP)
    fields: dict[str, list[str]] = {}
    for part in message.iter_parts() if isinstance(message, EmailMessage) else ():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and part.get_filename() is None:
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
            fields.setdefault(name, []).append(text)
    return fields


def first(form: dict[str, list[str]], name: str) -> str:
    """A field's first value, stripped; "" when absent."""
    return (form.get(name) or [""])[0].strip()
