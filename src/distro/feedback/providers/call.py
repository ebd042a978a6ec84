"""What every provider reader shares: its errors, its result, and the small readers of JSON fields.

A reader authenticates first and parses second, so a caller that cannot prove who it is learns nothing
about the parser (401 and nothing changed); only a call that is proven to come from the provider can be
answered 400 for its shape.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from distro.errors import ConfigError, InvalidInput, Refused
from distro.feedback.report import Feedback
from distro.settings.sections import BouncesSettings

MAX_DIAGNOSTIC = 500
_STATUS = re.compile(r"\b([245]\.[0-9]{1,3}\.[0-9]{1,3})\b")
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")  # ASCII digits only, and few enough for int() and datetime


class ForgedCall(Refused):
    """Unsigned, badly signed, stale or from an unexpected sender: answer 401, change nothing."""


class MalformedCall(InvalidInput):
    """Signed but not in the provider's shape: 400."""


class NotConfigured(ConfigError):
    """Nothing (usable) set for this provider: 503. The message names the setting to fix."""


@dataclass(frozen=True, slots=True)
class ProviderCall:
    """What one authenticated webhook call says.

    ``replay_key``: the caller refuses a key it has already seen (kept at least ``max_age_seconds``);
    ``confirm_url``: an SNS SubscriptionConfirmation, already checked to be on an SNS host, to be fetched
    with a GET by the caller.
    """

    events: list[Feedback] = field(default_factory=list)
    replay_key: str | None = None
    confirm_url: str | None = None


# (settings, headers with lower-cased names, raw body, now) -> the call; provider-specific extras by partial.
Reader = Callable[[BouncesSettings, Mapping[str, str], bytes, datetime], ProviderCall]
JsonObject = dict[str, object]


def same_secret(given: str, expected: str) -> bool:
    """Constant-time equality (as bytes, so a non-ASCII guess cannot make compare_digest raise)."""
    return hmac.compare_digest(given.encode(), expected.encode())


def parse_json(body: bytes, error: type[Refused | InvalidInput], what: str) -> object:
    """``body`` as JSON, else ``error`` (ForgedCall where the signature is inside the body)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise error(f"{what}: the body is not JSON") from None


def as_object(value: object, what: str, error: type[Refused | InvalidInput] = MalformedCall) -> JsonObject:
    if not isinstance(value, dict):
        raise error(f"{what}: expected a JSON object")
    return value


def objects(data: Mapping[str, object], key: str, what: str) -> list[JsonObject]:
    """``data[key]`` as a list of objects; a missing key is an empty list."""
    value = data.get(key, [])
    if not isinstance(value, list):
        raise MalformedCall(f"{what}: {key} is not a list")
    return [as_object(item, f"{what}: {key}[]") for item in value]


def text(data: Mapping[str, object], key: str, what: str, *, required: bool = False) -> str | None:
    """``data[key]`` as a string (numbers too, as providers send ids either way); None if absent."""
    value = data.get(key)
    if isinstance(value, bool):
        raise MalformedCall(f"{what}: {key} is not a string")
    if isinstance(value, int | float):
        value = str(value)
    if value is None or value == "":
        if required:
            raise MalformedCall(f"{what}: {key} is missing")
        return None
    if not isinstance(value, str):
        raise MalformedCall(f"{what}: {key} is not a string")
    return value


def recipient(value: str | None, what: str) -> str:
    """The address an event is about, lower-cased; an event about nobody is not in the provider's shape."""
    address = (value or "").strip().lower()
    if not address or len(address) > 320 or not address.isprintable():
        raise MalformedCall(f"{what}: no usable recipient address")
    return address


def diagnostic(*parts: str | None) -> str | None:
    """The remote server's words on one printable line of at most 500 characters (None if empty)."""
    joined = " ".join(part for part in parts if part)
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in joined).split())
    if not line:
        return None
    return line if len(line) <= MAX_DIAGNOSTIC else line[: MAX_DIAGNOSTIC - 1] + "…"


def status(code: str | None, *texts: str | None) -> str | None:
    """An enhanced status code ("5.1.1"): ``code`` if it is one, else the first found in ``texts``."""
    for candidate in (code, *texts):
        if candidate and (found := _STATUS.search(candidate)):
            return found.group(1)
    return None


def iso_time(value: str | None, what: str) -> datetime | None:
    """An ISO 8601 time as aware UTC (no zone means UTC; more than 6 fraction digits are cut)."""
    if value is None:
        return None
    raw = re.sub(r"(\.[0-9]{6})[0-9]+", r"\1", value.strip())
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise MalformedCall(f"{what}: {value[:40]!r} is not an ISO 8601 time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def unix_time(value: object, what: str) -> datetime | None:
    """Unix seconds (an int, a float or a string of digits) as aware UTC."""
    if value is None:
        return None
    if isinstance(value, str) and _UNIX_SECONDS.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e11:
        raise MalformedCall(f"{what}: the time is not Unix seconds")
    return datetime.fromtimestamp(value, UTC)


def signed_time(value: str | None, what: str) -> datetime:
    """A signed timestamp header or field (Unix seconds); anything else cannot have been signed by us."""
    if value is None or not _UNIX_SECONDS.fullmatch(value):
        raise ForgedCall(f"{what}: no signed timestamp")
    return datetime.fromtimestamp(int(value), UTC)


def check_fresh(signed_at: datetime, now: datetime, max_age: timedelta, what: str) -> None:
    """Refuses a signed call from too long ago (a replay) or too far ahead (a clock, or a forgery)."""
    if abs(aware(now) - signed_at) > max_age:
        raise ForgedCall(f"{what}: the signed timestamp is more than {int(max_age.total_seconds())}s off")


def aware(moment: datetime) -> datetime:
    """``moment`` as aware UTC (a naive one is taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
