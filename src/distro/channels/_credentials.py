"""Keeping credentials out of logs, shared by the channels that hold OAuth tokens."""

from __future__ import annotations

import logging

# requests-oauthlib and oauthlib log tokens and Authorization headers at DEBUG.
CHATTY_LOGGERS = ("requests_oauthlib", "oauthlib")


def quiet_credential_logs() -> None:
    """Raise the OAuth libraries' loggers to INFO unless the operator chose a level of INFO or higher."""
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:  # NOTSET or DEBUG; an explicit INFO+ choice is kept
            logger.setLevel(logging.INFO)
