"""Readers of ESP bounce and complaint webhooks, each verified exactly the way its provider documents.

One module per provider, each with a pure ``read(settings, headers, body, now, ...)`` returning a
:class:`ProviderCall` (headers with lower-cased names; ``now`` aware UTC):

    ses       SES notifications inside SNS (the envelope verified by ``sns``, its certificate by
              ``sns_certs``); extras ``fetch_certificate=`` and ``bounce_address=``
    postmark  basic auth or a secret path segment; extra ``path_secret=``
    mailgun   HMAC-SHA256 of timestamp + token with the signing key
    sendgrid  ECDSA P-256 signature of timestamp + body

Errors, for the route to answer: NotConfigured 503, ForgedCall 401 (nothing changed), MalformedCall 400
(only once the call is authenticated). No message repeats a secret or a signature. Body size limits,
replay-key storage and fetching ``confirm_url`` are the caller's.
"""

from __future__ import annotations

from distro.feedback.providers.call import ForgedCall, MalformedCall, NotConfigured, ProviderCall, Reader

__all__ = ["ForgedCall", "MalformedCall", "NotConfigured", "ProviderCall", "Reader"]
