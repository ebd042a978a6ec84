"""Reading `config/distro.toml`: the settings' TOML source, and the refusal of secrets written in it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from distro.errors import ConfigError
from distro.settings.sections import SECRET_HEADER


class TomlData(PydanticBaseSettingsSource):
    """Lowest-priority source: the already-read TOML document."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._data


def _secret_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if annotation is not None and "SecretStr" in str(annotation):
            paths.add(prefix + name)
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths |= _secret_paths(annotation, f"{prefix}{name}.")
    return paths


def reject_file_secrets(data: dict[str, Any], path: Path, model: type[BaseModel]) -> None:
    for dotted in sorted(_secret_paths(model)):
        node: Any = data
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            env = "DISTRO_" + dotted.upper().replace(".", "__")
            raise ConfigError(
                f"{path}: '{dotted}' is a secret; remove it from the file and set {env} instead"
            )
    if _has_password(data.get("database_url")):
        raise ConfigError(
            f"{path}: 'database_url' holds a password; remove it from the file and set DISTRO_DATABASE_URL "
            "instead (or give PostgreSQL the password in PGPASSWORD or ~/.pgpass)"
        )
    sources = data.get("sources")
    for source in sources if isinstance(sources, list) else []:
        if isinstance(source, dict):
            _reject_source_secrets(source, path)


def _has_password(url: Any) -> bool:
    try:
        return isinstance(url, str) and urlsplit(url).password is not None
    except ValueError:
        return False


def _reject_source_secrets(source: dict[str, Any], path: Path) -> None:
    name = source.get("name", "?")
    fix = f'set DISTRO_SOURCE_HEADERS=\'{{"{name}": {{"Authorization": "..."}}}}\' instead'
    if _has_password(source.get("url")):
        raise ConfigError(f"{path}: source {name}: its url holds a password; remove it and {fix}")
    if "secret_headers" in source:
        raise ConfigError(f"{path}: source {name}: 'secret_headers' is a secret; {fix}")
    headers = source.get("headers")
    for header in headers if isinstance(headers, dict) else {}:
        if SECRET_HEADER.search(str(header)):
            raise ConfigError(
                f"{path}: source {name}: header {header!r} is a credential; remove it from the file and "
                + fix.replace('"Authorization"', json.dumps(str(header)))
            )


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
