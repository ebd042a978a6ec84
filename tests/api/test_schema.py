"""Every operation of /api/v1/openapi.json fuzzed in-process with schemathesis, with a write token, on
SQLite and PostgreSQL: no request, however malformed, gets a 5xx; every answer has a status the operation
declares, the media type it declares for it, and a body matching its schema (problems included).

The schema is read once at collection, over HTTP from the mounted app (on a throwaway SQLite database),
which is also how a client reads it. Each database gets one seeded web app for the module (a subscriber,
an article, a suppression). Generation is derandomized (a fixed seed, the same cases every run) and
bounded (``MAX_EXAMPLES`` per operation and phase), so the file stays within about a minute.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from distro.app import App, build_app
from distro.db import upgrade
from distro.services.api_tokens import create_token
from distro.services.articles import store_pushed
from distro.services.subscribers import add_subscriber
from distro.services.suppression import suppress
from distro.settings import Settings
from distro.sources.webhook import parse_payload
from distro.web.api import ROUTERS
from distro.web.app import create_web_app
from tests.conftest import ROOT, postgres_schema

MAX_EXAMPLES = 4
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            "mode": "all",  # valid and invalid inputs alike
        },
        # The coverage phase (every boundary of every parameter) triples the time; ids past INTEGER, the
        # boundary it found, are tested in test_resources.py.
        "phases": {"stateful": {"enabled": False}, "coverage": {"enabled": False}},
    }
)


def _settings(tmp: Path, url: str) -> Settings:
    # The fuzzer's requests are many; the rate limit is tested in test_auth.py.
    return Settings(
        database_url=url,
        var_dir=tmp / "var",
        templates_dir=ROOT / "templates",
        web={"api_requests_per_minute": 1_000_000},
    )


def _collection_schema() -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(_settings(Path(tmp), f"sqlite:///{tmp}/schema.db"))
        try:
            with TestClient(create_web_app(app)) as client:
                raw = client.get("/api/v1/openapi.json").json()
        finally:
            app.engine.dispose()
    return schemathesis.openapi.from_dict(raw, config=CONFIG)


schema = _collection_schema()


def _seed(app: App) -> str:
    upgrade(app.engine)
    add_subscriber(app, "ana@example.org", "Ana")
    suppress(app.engine, "spam@example.org", "manual")
    store_pushed(app, "webhook", "webhook", parse_payload(b'{"url": "https://mag.example/a", "title": "A"}'))
    return create_token(app, "fuzz", "write", actor="cli")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FastAPI, str]]:
    tmp = tmp_path_factory.mktemp("api-fuzz")
    with ExitStack() as stack:
        url = f"sqlite:///{tmp / 'distro.db'}"
        if request.param == "postgresql":
            url = stack.enter_context(postgres_schema())
        app = build_app(_settings(tmp, url))
        stack.callback(app.engine.dispose)
        token = _seed(app)
        yield create_web_app(app), token


def test_the_schema_holds_every_api_route_and_no_desk_route() -> None:
    documented = {operation.ok().label for operation in schema.get_all_operations()}
    routes = {
        f"{method} /api/v1{route.path}"  # type: ignore[attr-defined]
        for router in ROUTERS
        for route in router.routes
        for method in route.methods  # type: ignore[attr-defined]
    }
    assert {label.replace(" /", " /api/v1/", 1) for label in documented} == routes
    assert not any("desk" in label or "hooks" in label for label in documented)
    raw = schema.raw_schema
    assert raw["servers"] == [{"url": "/api/v1"}]
    assert raw["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from `distro api-tokens create`.",
        }
    }


@schema.parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_no_operation_answers_5xx_or_outside_its_schema(
    case: schemathesis.Case, fuzzed: tuple[FastAPI, str]
) -> None:
    web, token = fuzzed
    case.call_and_validate(app=web, checks=CHECKS, headers={"Authorization": f"Bearer {token}"})
