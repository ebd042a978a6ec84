"""Encryption at rest for OAuth tokens: Fernet (AES-128-CBC + HMAC-SHA256) keyed by ``DISTRO_TOKEN_KEY``.

The key lives only in the environment, never in the database it protects, so a copied database file or
backup reveals no token. Without a key nothing is stored: :func:`token_box` raises a ConfigError that
says how to make one.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from distro.errors import ConfigError

KEY_HINT = (
    "set DISTRO_TOKEN_KEY to a Fernet key, e.g. the output of "
    '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`'
)


class TokenBox:
    """Seals and opens token dictionaries; the ciphertext is ASCII and safe for a Text column."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError):
            raise ConfigError(  # noqa: B904 - the cause would only repeat the key's shape
                f"DISTRO_TOKEN_KEY is not a valid Fernet key (32 url-safe base64 bytes); {KEY_HINT}"
            )

    def seal(self, token: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(token, sort_keys=True).encode()).decode("ascii")

    def open(self, sealed: str) -> dict[str, Any]:
        try:
            data = json.loads(self._fernet.decrypt(sealed.encode("ascii")))
        except InvalidToken:
            raise ConfigError(
                "a stored token cannot be decrypted with DISTRO_TOKEN_KEY (the key changed?); restore the "
                "old key or run `distro auth <platform>` again"
            ) from None
        if not isinstance(data, dict):
            raise ConfigError("a stored token is not a token object; run `distro auth <platform>` again")
        return data


def token_box(key: SecretStr | None) -> TokenBox:
    """The box for ``settings.token_key``; ConfigError when it is unset, so no token is stored in clear."""
    if key is None or not key.get_secret_value():
        raise ConfigError(f"refusing to store or read OAuth tokens without an encryption key; {KEY_HINT}")
    return TokenBox(key.get_secret_value())
