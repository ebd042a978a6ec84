"""/healthz and /metrics through FastAPI's TestClient, on SQLite and PostgreSQL: counts, labels that never
show a URL's credentials or a server path, and the bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from distro.app import App, build_app
from distro.models import AttemptOutcome, Delivery, DeliveryAttempt, Source, utcnow
from distro.settings import Settings, SourceSettings
from distro.web.app import create_web_app


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_web_app(app)) as test_client:
        yield test_client


AD_HOC = ("http://reader:hunter2@private.example/feed", "/srv/distro/private/feed.xml")


def seed(app: App) -> None:
    """Email: 3 sent, 1 failed, 2 pending, 1 sending; x: 1 sent, 1 held; two configured sources (one
    failing) and two failing ad hoc ones (``distro ingest URL-or-path``), named by what was typed."""
    now = utcnow()
    states = {"email": ["sent"] * 3 + ["failed"] + ["pending"] * 2 + ["sending"], "x": ["sent", "held"]}
    rows = [
        {"key": f"{channel}:{i}", "channel": channel, "recipient": f"r{i}", "status": state}
        for channel, list_ in states.items()
        for i, state in enumerate(list_)
    ]
    with app.engine.begin() as connection:
        connection.execute(sa.insert(Delivery.__table__), rows)  # type: ignore[attr-defined]
        ids = dict(connection.execute(sa.select(Delivery.key, Delivery.id)).all())  # type: ignore[call-overload]
        attempts = [  # email: 0.2 s, 0.2 s, 3 s, and 2 s for the failure; one old attempt outside the hour
            (ids["email:0"], 0.2, AttemptOutcome.SENT, 0),
            (ids["email:1"], 0.2, AttemptOutcome.SENT, 0),
            (ids["email:2"], 3.0, AttemptOutcome.SENT, 0),
            (ids["email:3"], 2.0, AttemptOutcome.PERMANENT, 0),
            (ids["x:0"], 0.7, AttemptOutcome.SENT, 0),
            (ids["email:4"], 50.0, AttemptOutcome.TEMPORARY, 3),
        ]
        connection.execute(
            sa.insert(DeliveryAttempt.__table__),  # type: ignore[attr-defined]
            [
                {
                    "delivery_id": delivery,
                    "number": 1,
                    "worker": "w",
                    "outcome": outcome,
                    "started_at": now - timedelta(hours=hours, seconds=seconds),
                    "finished_at": now - timedelta(hours=hours),
                }
                for delivery, seconds, outcome, hours in attempts
            ],
        )
        connection.execute(
            sa.insert(Source.__table__),  # type: ignore[attr-defined]
            [
                {"name": "good", "url": "https://a.example/feed", "kind": "feed", "created_at": now},
                {"name": "bad", "url": "https://b.example/feed", "kind": "feed", "created_at": now},
                *({"name": n, "url": n, "kind": "feed", "created_at": now} for n in AD_HOC),
            ],
        )
        connection.execute(sa.update(Source).where(Source.name != "good").values(last_error="answered 403"))
    app.settings.sources = [
        SourceSettings(name="good", url="https://a.example/feed"),
        SourceSettings(name="bad", url="https://b.example/feed"),
    ]


def scrape(
    client: TestClient, headers: dict[str, str] | None = None
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_healthz_is_ok_when_the_database_answers(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "url",
    ["sqlite:///{tmp}", "postgresql+psycopg://distro:hunter2@127.0.0.1:1/test"],
)
def test_healthz_is_503_without_database_and_hides_the_url(url: str, tmp_path: Path) -> None:
    settings = Settings(
        database_url=url.format(tmp=tmp_path), var_dir=tmp_path / "var", templates_dir=Path("templates")
    )
    app = build_app(settings)
    with TestClient(create_web_app(app)) as test_client:
        response = test_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "hunter2" not in response.text and str(tmp_path) not in response.text


def test_metrics_count_deliveries_queue_poll_errors_and_latency(app: App, client: TestClient) -> None:
    seed(app)
    samples = scrape(client)

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("distro_messages_sent_total", channel="email") == 3
    assert value("distro_messages_sent_total", channel="x") == 1
    assert value("distro_messages_failed_total", channel="email") == 1
    assert value("distro_messages_failed_total", channel="x") == 0
    assert value("distro_queue_depth", channel="email") == 3  # 2 pending + 1 sending
    assert value("distro_queue_depth", channel="x") == 0
    assert value("distro_queue_held", channel="x") == 1
    assert value("distro_source_poll_error", source="bad") == 1
    assert value("distro_source_poll_error", source="good") == 0
    # Only the four email attempts of the last hour: 0.2, 0.2, 3 and 2 seconds.
    assert value("distro_send_latency_seconds_count", channel="email") == 4
    assert value("distro_send_latency_seconds_sum", channel="email") == pytest.approx(5.4, abs=0.01)
    assert value("distro_send_latency_seconds_bucket", channel="email", le="0.25") == 2
    assert value("distro_send_latency_seconds_bucket", channel="email", le="2.5") == 3
    assert value("distro_send_latency_seconds_bucket", channel="email", le="5.0") == 4
    assert value("distro_send_latency_seconds_bucket", channel="email", le="+Inf") == 4
    assert value("distro_send_latency_seconds_bucket", channel="x", le="1.0") == 1


def test_metrics_on_an_empty_database_are_well_formed(client: TestClient) -> None:
    samples = scrape(client)
    assert not any(name.startswith("distro_messages") for name, _ in samples)


def test_metrics_label_configured_sources_by_name_only(app: App, client: TestClient) -> None:
    """An ad hoc source is named by the URL or path it was ingested from: no label may show either."""
    seed(app)
    text = client.get("/metrics").text
    assert "hunter2" not in text and "reader" not in text and "/srv/" not in text
    polls = {labels for name, labels in scrape(client) if name == "distro_source_poll_error"}
    assert polls == {(("source", "bad"),), (("source", "good"),)}


def test_a_configured_source_never_polled_reports_no_error(app: App, client: TestClient) -> None:
    app.settings.sources = [SourceSettings(name="new", url="https://n.example/feed")]
    assert scrape(client)[("distro_source_poll_error", (("source", "new"),))] == 0


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token", "Basic c2NyYXBlcjpzM2NyZXQtc2NyYXBlLXRva2Vu", "s3cret"],
)
def test_metrics_with_a_token_refuse_a_scrape_without_it(
    app: App, client: TestClient, authorization: str | None
) -> None:
    app.settings.web.metrics_token = SecretStr("s3cret-scrape-token")
    seed(app)
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "distro_" not in response.text and "s3cret" not in response.text


def test_metrics_with_a_token_answer_the_scrape_that_carries_it(app: App, client: TestClient) -> None:
    app.settings.web.metrics_token = SecretStr("s3cret-scrape-token")
    seed(app)
    for scheme in ("Bearer", "bearer"):
        samples = scrape(client, {"Authorization": f"{scheme} s3cret-scrape-token"})
        assert samples[("distro_messages_sent_total", (("channel", "email"),))] == 3


def test_metrics_without_a_token_stay_open(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 200
