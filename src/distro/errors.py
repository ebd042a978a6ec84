"""The errors distro raises, so callers catch at the level they can act on.

    DistroError                 anything distro itself reports; the message is meant for the editor
    ├── ConfigError             settings or secrets are missing or wrong; fix the config and rerun
    ├── SourceError             a feed or page could not be fetched or parsed; nothing was stored from it
    │   └── SourceUnavailable   (sources.fetch) it may work later (429/5xx, timeout); ``retry_after`` if known
    ├── RenderError             a template failed to render; nothing was queued or sent
    ├── IllegalTransition       a status change the table of legal transitions does not list
    ├── InvalidInput            (also a ValueError) what was asked cannot be done as given: a value out of
    │   │                       range, a text too long, a post already sent; the message says what to change
    │   ├── InvalidSubscriber   (services.subscribers) an address or subscriber field that cannot be stored
    │   ├── ImportRefused       (services.subscriber_csv) a CSV file that cannot be imported at all
    │   ├── EditorError         (services.editors) a desk account that cannot be made or changed so
    │   └── BadLease            (sources.websub) a ``hub.lease_seconds`` that is not a number of seconds
    ├── NotFound                (also a LookupError) the subscriber, delivery or article named is not there
    │   └── UnknownSubscriber   (services.preferences) a signed link for a subscriber since forgotten
    ├── Refused                 understood but not allowed: the caller must prove more or ask otherwise
    │   ├── InvalidToken        (tokens) a link altered, truncated or made for another scope
    │   ├── LoginRefused        (services.editors) wrong address or password, or locked; never says which
    │   ├── SignupError         (services.signup) a confirmation link unknown, used or expired
    │   ├── WebhookRejected     (sources.webhook) an unsigned, stale or malformed push; ``status`` to answer
    │   └── AuthError           (auth) an OAuth flow failed at the step its message names
    └── DeliveryError           one send failed; raised by channels, handled by the dispatcher
        ├── TemporaryFailure    retry later (SMTP 4xx, HTTP 5xx, timeouts); ``retry_after`` seconds if known
        │   ├── RateLimited     the provider said "slow down"; ``retry_after`` is its reset time
        │   │                   (``pause_account``: the whole account waits that long, not just this message)
        │   └── ChannelFailure  the channel cannot work at all (rejected login, revoked token, untrusted
        │                       certificate): the message is fine, so it stays queued and the channel pauses
        └── PermanentFailure    never retry this message (SMTP 5xx, bad token, duplicate post)
            └── RecipientRejected  the receiving server refused this address (a hard bounce)

Services raise these, never a bare ValueError or LookupError, so a face translates nothing: the CLI prints
any DistroError as one line, the web answers it with its message. The classes marked with a module live
beside the code that raises them.

Every message names the thing to fix (file and line, URL and status, setting name), and none contains a
secret: channels build messages from provider replies, never from credentials.
"""

from __future__ import annotations

from distro.urls import strip_credentials


class DistroError(Exception):
    """Base of every error distro reports on purpose."""


class ConfigError(DistroError):
    """The configuration cannot be used as it is."""


class SourceError(DistroError):
    """A source could not be read; ``source`` names it (URL or path). The message keeps no URL credentials
    (it is stored as the source's last error and shown on the desk and in ``distro status``)."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = strip_credentials(source)
        self.reason = strip_credentials(reason)
        super().__init__(f"source {self.source}: {self.reason}")


class RenderError(DistroError):
    """A template could not be rendered; ``template`` and ``line`` say where."""

    def __init__(self, template: str, line: int | None, reason: str) -> None:
        self.template = template
        self.line = line
        self.reason = reason
        where = f"{template}:{line}" if line else template
        super().__init__(f"template {where}: {reason}")


class InvalidInput(DistroError, ValueError):
    """What was asked cannot be done as given; the message names what to change.

    Also a ValueError, so a caller that catches ValueError (and Python's own conventions) still works.
    """


class NotFound(DistroError, LookupError):
    """The thing named (subscriber, delivery, article, editor) does not exist, or no longer does."""


class Refused(DistroError):
    """A request understood but not allowed: a bad or expired link, a wrong password, an unsigned push."""


class DeliveryError(DistroError):
    """One send did not succeed."""


class TemporaryFailure(DeliveryError):
    """Worth retrying; ``retry_after`` (seconds) is the provider's hint, or None to use backoff."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        self.reason = reason
        self.retry_after = retry_after
        super().__init__(reason)


class RateLimited(TemporaryFailure):
    """The provider refused for rate reasons; retry no earlier than ``retry_after`` seconds from now.

    With ``pause_account`` the limit is the account's, not this message's (an exhausted posting window, a
    temporary block): the channel instance, i.e. the account, must send nothing until ``retry_after`` has
    passed, since every other message would meet the same refusal.
    """

    def __init__(self, reason: str, retry_after: float | None = None, *, pause_account: bool = False) -> None:
        super().__init__(reason, retry_after)
        self.pause_account = pause_account


class ChannelFailure(TemporaryFailure):
    """Nothing is wrong with the message; the channel needs an operator (credentials, certificate, token).

    The dispatcher pauses the channel at once and keeps the message queued without counting the try, so a
    wrong password does not burn through the subscriber list.
    """


class PermanentFailure(DeliveryError):
    """Retrying cannot help; ``reason`` says why (kept in the delivery log)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class RecipientRejected(PermanentFailure):
    """The recipient's server refused the address itself (SMTP 5.1.x at RCPT): a hard bounce.

    Counted per subscriber; after enough of them the address is suppressed.
    """


class IllegalTransition(DistroError):
    """A status change :mod:`distro.store.transitions` does not list (a bug, or a row moved meanwhile)."""

    def __init__(self, kind: str, old: str, new: str) -> None:
        self.kind, self.old, self.new = kind, old, new
        super().__init__(f"{kind}: {old} -> {new} is not a legal change")
