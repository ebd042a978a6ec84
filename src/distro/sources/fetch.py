"""Download a source politely and within limits.

Feeds are fetched with ``requests`` rather than by feedparser, whose own fetching has neither a timeout nor
a size limit. Every fetch here:

* names itself with a descriptive User-Agent (many sites refuse the default ``python-requests``);
* sends the validators from the last poll (``If-None-Match`` / ``If-Modified-Since``), so an unchanged
  feed costs one 304 and no body;
* gives up after ``timeout`` seconds in total, even when the server trickles bytes slowly enough to keep
  every single read alive;
* stops reading as soon as the decoded body exceeds ``max_bytes``, whatever ``Content-Length`` claims,
  so neither an endless stream nor a gzip bomb can fill memory;
* reports a permanent redirect (301/308) so the caller can store the new URL;
* refuses, unless ``allow_private_addresses``, any hop (redirects included) whose host resolves to a
  loopback, private, link-local or otherwise non-global address, so a hostile feed or webhook cannot make
  the server read its own network (SSRF). The check runs just before each connection; a DNS answer that
  changes between the check and the connection (rebinding) is outside what this guards.

Failures raise :class:`~distro.errors.SourceError` with a message an editor can act on. Failures worth
retrying later (HTTP 429 and 5xx, timeouts, refused connections) raise :class:`SourceUnavailable`, which
carries the server's ``Retry-After`` in seconds when it sent one.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from distro.errors import SourceError
from distro.settings import SourceSettings
from distro.urls import without_credentials

DEFAULT_USER_AGENT = "distro/0.1 (+https://github.com/distro-newsletter/distro)"
MAX_REDIRECTS = 5
_CHUNK_BYTES = 64 * 1024


class SourceUnavailable(SourceError):
    """The source could not be read now but may work later (HTTP 429/5xx, timeout, connection refused).

    ``retry_after`` is the server's ``Retry-After`` in seconds from now, or None when it gave none and the
    caller should use its normal polling interval or backoff.
    """

    def __init__(self, source: str, reason: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(source, reason)


@dataclass(frozen=True, slots=True)
class FetchResponse:
    """A successful fetch (200) or an unchanged one (304, ``not_modified`` True and an empty ``body``).

    ``url`` is where the body came from after redirects; ``permanent_url`` is the target of the
    permanent redirects (301/308) at the start of the chain, or None when there were none. ``etag`` and
    ``last_modified`` are the validators for the next request; on a 304 that omits them, the ones that
    were sent are returned so the caller keeps them.
    """

    url: str
    status: int
    body: bytes
    not_modified: bool
    etag: str | None
    last_modified: str | None
    content_type: str | None
    permanent_url: str | None
    # Every response header, looked up case-insensitively (pagination links, rate-limit hints).
    headers: Mapping[str, str] = field(default_factory=dict)


def fetch_url(
    url: str,
    *,
    user_agent: str,
    timeout: float,
    max_bytes: int,
    etag: str | None = None,
    last_modified: str | None = None,
    extra_headers: dict[str, str] | None = None,
    source_name: str | None = None,
    session: requests.Session | None = None,
    allow_private_addresses: bool = False,
) -> FetchResponse:
    """GET ``url`` and return its body, or raise SourceError saying what went wrong and what to change.

    ``timeout`` bounds the whole fetch (connect, headers and body) in seconds. ``source_name`` only makes
    hints precise (``sources.<name>.user_agent``). ``session`` lets a caller reuse connections or inject a
    transport; by default a fresh session is used and closed. A session passed in gets only its first URL
    checked against private addresses; mount :class:`PublicOnlyAdapter` on it to check every hop.
    """
    headers = {"User-Agent": user_agent}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    headers.update(extra_headers or {})
    where = redact_url(url)
    setting = f"sources.{source_name or '<name>'}"
    deadline = time.monotonic() + timeout
    own_session = session is None
    client = session or requests.Session()
    if own_session:
        client.max_redirects = MAX_REDIRECTS
        if not allow_private_addresses:
            client.mount("http://", PublicOnlyAdapter(setting))
            client.mount("https://", PublicOnlyAdapter(setting))
    elif not allow_private_addresses:
        check_public_address(url, setting)
    try:
        response = _get(client, url, where, headers, timeout)
        with response:
            return _handle(response, where, setting, max_bytes, deadline, timeout, etag, last_modified)
    finally:
        if own_session:
            client.close()


def _get(
    client: requests.Session, url: str, where: str, headers: dict[str, str], timeout: float
) -> requests.Response:
    try:
        return client.get(url, headers=headers, timeout=(timeout, timeout), stream=True, allow_redirects=True)
    except requests.TooManyRedirects:
        reason = f"more than {MAX_REDIRECTS} redirects; put the final URL in the settings"
        raise SourceError(where, reason) from None
    except requests.Timeout:
        raise SourceUnavailable(where, f"no answer within {timeout:g} s") from None
    except requests.ConnectionError as exc:
        raise SourceUnavailable(where, f"could not connect ({_root_cause(exc)})") from None
    except requests.RequestException as exc:  # invalid URL, unsupported scheme in a redirect, ...
        raise SourceError(where, f"cannot be fetched ({_root_cause(exc)})") from None


def _handle(
    response: requests.Response,
    where: str,
    setting: str,
    max_bytes: int,
    deadline: float,
    timeout: float,
    sent_etag: str | None,
    sent_last_modified: str | None,
) -> FetchResponse:
    status = response.status_code
    if status >= 400:
        raise _status_error(response, where, setting)
    if status != 304 and not 200 <= status < 300:
        raise SourceError(where, f"answered {status} {response.reason or ''}".rstrip() + "; expected 200")
    not_modified = status == 304
    body = b"" if not_modified else _read_body(response, where, setting, max_bytes, deadline, timeout)
    return FetchResponse(
        url=response.url,
        status=status,
        body=body,
        not_modified=not_modified,
        etag=response.headers.get("ETag") or (sent_etag if not_modified else None),
        last_modified=response.headers.get("Last-Modified") or (sent_last_modified if not_modified else None),
        content_type=response.headers.get("Content-Type"),
        permanent_url=_permanent_url(response),
        headers=response.headers,
    )


class PublicOnlyAdapter(HTTPAdapter):
    """An adapter that refuses to connect to non-global addresses (see the module docstring)."""

    def __init__(self, setting: str = "sources.<name>") -> None:
        super().__init__()
        self.setting = setting

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        check_public_address(request.url or "", self.setting)
        return super().send(request, *args, **kwargs)


def check_public_address(url: str, setting: str = "sources.<name>") -> None:
    """Raise SourceError when ``url``'s host is, or resolves to, a non-global (private) address."""
    where = redact_url(url)
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise SourceError(where, f"is not a valid URL ({exc})") from None
    if not host:
        raise SourceError(where, "has no host")
    try:
        infos = socket.getaddrinfo(host, port or 80, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise SourceUnavailable(where, f"could not resolve {host} ({exc})") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        mapped = getattr(address, "ipv4_mapped", None)
        if mapped is not None:
            address = mapped
        if not address.is_global or address.is_multicast:
            raise SourceError(
                where,
                f"{host} is {address}, a loopback, private or link-local address; refused so the server "
                f"cannot be made to read its own network (set {setting}.allow_private_addresses = true "
                "if this source really lives there)",
            )


def _status_error(response: requests.Response, where: str, setting: str) -> SourceError:
    status = response.status_code
    said = f"answered {status} {response.reason or ''}".rstrip()
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        when = f"retry after {retry_after:g} s" if retry_after is not None else "will retry later"
        why = "asked to slow down" if status == 429 else "the server is failing"
        return SourceUnavailable(where, f"{said}; {why}, {when}", retry_after)
    if status in (401, 403):
        hint = f"set a User-Agent in {setting}.user_agent, or check that the feed is public"
    elif status == 404:
        hint = f"check the URL in {setting}.url"
    elif status == 410:
        hint = f"the feed is gone; update or remove {setting}"
    else:
        hint = f"check {setting}"
    return SourceError(where, f"{said}; {hint}")


def _read_body(
    response: requests.Response, where: str, setting: str, max_bytes: int, deadline: float, timeout: float
) -> bytes:
    too_big = f"is larger than {max_bytes} bytes; raise {setting}.max_bytes if the feed really is this large"
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise SourceError(where, too_big)
    raw: Any = response.raw
    # read1 returns whatever has arrived (at most one chunk), so the deadline is checked between reads
    # even when the server sends one byte at a time; plain read() would wait for a full chunk.
    read = raw.read1 if hasattr(raw, "read1") else raw.read
    chunks: list[bytes] = []
    total = 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise SourceUnavailable(where, f"took longer than {timeout:g} s to send the feed")
            chunk = read(_CHUNK_BYTES, decode_content=True)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise SourceError(where, too_big)
            chunks.append(chunk)
    except urllib3.exceptions.ReadTimeoutError:
        raise SourceUnavailable(where, f"stopped sending for more than {timeout:g} s") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise SourceUnavailable(where, f"the download broke off ({_root_cause(exc)})") from None
    return b"".join(chunks)


def _permanent_url(response: requests.Response) -> str | None:
    """The URL reached through the leading run of 301/308 redirects; a 302/307 ends the run."""
    hops = [*response.history, response]
    permanent: str | None = None
    for index, hop in enumerate(response.history):
        if hop.status_code not in (301, 308):
            break
        permanent = hops[index + 1].url
    return permanent


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def read_path(path: str | Path, max_bytes: int) -> bytes:
    """Read a local feed file, refusing one larger than ``max_bytes`` (reading stops at the limit)."""
    where = str(path)
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise SourceError(where, "file does not exist; check the source's url setting") from None
    except IsADirectoryError:
        raise SourceError(where, "is a directory, not a feed file") from None
    except OSError as exc:
        raise SourceError(where, f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise SourceError(where, f"is larger than {max_bytes} bytes; raise the source's max_bytes setting")
    return data


def redact_url(url: str) -> str:
    """The URL without its user-info part (user name and password), fit for error messages and logs."""
    return without_credentials(url)


def _root_cause(exc: BaseException) -> str:
    """The innermost exception's text: ``requests`` wraps urllib3 errors several levels deep."""
    seen: set[int] = set()
    inner: BaseException = exc
    while id(inner) not in seen:
        seen.add(id(inner))
        following = inner.__cause__ or inner.__context__
        nested = inner.args[0] if inner.args and isinstance(inner.args[0], BaseException) else None
        nxt = nested or following
        if nxt is None:
            break
        inner = nxt
    text = str(inner) or type(inner).__name__
    return text if len(text) <= 200 else text[:199] + "\u2026"


class HttpSource:
    """What every source that polls over HTTP shares: its settings, stored validators, User-Agent choice
    (the source's own, else the publication's, else distro's) and one ``fetch_url`` call built from them."""

    def __init__(
        self,
        settings: SourceSettings,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        user_agent: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.settings = settings
        self.etag = etag
        self.last_modified = last_modified
        self.user_agent = settings.user_agent or user_agent or DEFAULT_USER_AGENT
        self._session = session

    def _get(self, url: str, *, accept: str, conditional: bool = True) -> FetchResponse:
        return fetch_url(
            url,
            user_agent=self.user_agent,
            timeout=self.settings.timeout,
            max_bytes=self.settings.max_bytes,
            etag=self.etag if conditional else None,
            last_modified=self.last_modified if conditional else None,
            extra_headers={"Accept": accept, **self.settings.request_headers()},
            source_name=self.settings.name,
            session=self._session,
            allow_private_addresses=self.settings.allow_private_addresses,
        )
