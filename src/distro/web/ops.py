"""``/healthz`` and Prometheus ``/metrics`` for operators.

Metrics are computed from the database at scrape time with a few aggregate queries, so they are right
however many worker processes share the queue (no per-process counters to merge) and survive restarts.
The "counters" are counts of delivery rows by final state: they only grow, because rows are never deleted.

Labels are names an operator chose (channels, configured source names), never a URL or a path: a source
polled once by ``distro ingest URL`` is not a configured source and gets no series. With
``web.metrics_token`` set, a scrape must carry ``Authorization: Bearer <token>`` (401 otherwise).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import fastapi
import sqlalchemy as sa
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from sqlalchemy.engine import Engine

from distro.db import is_postgres
from distro.models import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryStatus, Source, utcnow
from distro.web.deps import AppDep

router = fastapi.APIRouter()  # public like every route: in the schema, and so fuzzed
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LATENCY_WINDOW = timedelta(hours=1)
D = Delivery.__table__  # type: ignore[attr-defined]
A = DeliveryAttempt.__table__  # type: ignore[attr-defined]
S = Source.__table__  # type: ignore[attr-defined]
QUEUED = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


@router.get("/healthz")
def healthz(app: AppDep) -> JSONResponse:
    """200 when the database answers, else 503 with the reason's type (never the URL or its password)."""
    try:
        with app.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure means "not healthy"; the load balancer only needs the code
        return JSONResponse({"status": "unavailable", "error": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok"})


def _authorised(request: fastapi.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@router.get("/metrics")
def metrics(request: fastapi.Request, app: AppDep) -> Response:
    token = app.settings.web.metrics_token
    if token is not None and not _authorised(request, token.get_secret_value()):
        return Response(
            "a bearer token is needed (web.metrics_token)\n",
            status_code=401,
            media_type="text/plain; charset=utf-8",
            headers={"WWW-Authenticate": 'Bearer realm="distro metrics"', "Cache-Control": "no-store"},
        )
    registry = CollectorRegistry(auto_describe=False)
    sources = [source.name for source in app.settings.sources]
    registry.register(DatabaseCollector(app.engine, sources=sources))
    return Response(
        generate_latest(registry), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
    )


def _seconds(engine: Engine) -> Any:
    """finished_at - started_at in seconds, in the dialect's own arithmetic."""
    if is_postgres(engine):
        return sa.func.extract("epoch", A.c.finished_at - A.c.started_at)
    return (sa.func.julianday(A.c.finished_at) - sa.func.julianday(A.c.started_at)) * 86400.0


class DatabaseCollector:
    """A prometheus_client collector whose values are read from the delivery log on each scrape."""

    def __init__(self, engine: Engine, *, sources: list[str], now: datetime | None = None) -> None:
        self.engine = engine
        self.sources = sources  # the configured source names: the only ones labelled
        self.now = now

    def collect(self) -> Iterator[Metric]:
        with self.engine.connect() as connection:
            by_state = connection.execute(
                sa.select(D.c.channel, D.c.status, sa.func.count()).group_by(D.c.channel, D.c.status)
            ).all()
            yield from self._deliveries(by_state)
            yield self._poll_errors(connection)
            yield self._latency(connection)

    @staticmethod
    def _deliveries(rows: Sequence[Any]) -> Iterator[Metric]:
        sent = CounterMetricFamily(
            "distro_messages_sent", "Messages the provider accepted.", labels=["channel"]
        )
        failed = CounterMetricFamily(
            "distro_messages_failed", "Messages that failed for good.", labels=["channel"]
        )
        queued = GaugeMetricFamily(
            "distro_queue_depth", "Delivery rows waiting or being sent, by channel.", labels=["channel"]
        )
        held = GaugeMetricFamily("distro_queue_held", "Posts an editor holds back.", labels=["channel"])
        totals: dict[str, dict[str, int]] = {}
        for channel, state, count in rows:
            totals.setdefault(channel, {})[state] = int(count)
        for channel, counts in sorted(totals.items()):
            sent.add_metric([channel], counts.get(DeliveryStatus.SENT, 0))
            failed.add_metric([channel], counts.get(DeliveryStatus.FAILED, 0))
            queued.add_metric([channel], sum(counts.get(s, 0) for s in QUEUED))
            held.add_metric([channel], counts.get(DeliveryStatus.HELD, 0))
        yield from (sent, failed, queued, held)

    def _poll_errors(self, connection: sa.Connection) -> Metric:
        gauge = GaugeMetricFamily(
            "distro_source_poll_error",
            "1 when the configured source's last poll failed (`distro status`).",
            labels=["source"],
        )
        failing = {
            name
            for name, error in connection.execute(
                sa.select(S.c.name, S.c.last_error).where(S.c.name.in_(self.sources))
            )
            if error
        }
        for name in sorted(set(self.sources)):
            gauge.add_metric([name], 1 if name in failing else 0)
        return gauge

    def _latency(self, connection: sa.Connection) -> Metric:
        """Send latency (claim to outcome) of attempts that finished in the last hour, by channel."""
        seconds = _seconds(self.engine)
        columns = [sa.func.sum(sa.case((seconds <= bound, 1), else_=0)) for bound in LATENCY_BUCKETS]
        since = (self.now or utcnow()) - LATENCY_WINDOW
        query = (
            sa.select(D.c.channel, sa.func.count(), sa.func.sum(seconds), *columns)
            .select_from(A.join(D, D.c.id == A.c.delivery_id))
            .where(
                A.c.finished_at.is_not(None),
                A.c.finished_at >= since,
                A.c.outcome != AttemptOutcome.ABANDONED,
            )
            .group_by(D.c.channel)
        )
        histogram = HistogramMetricFamily(
            "distro_send_latency_seconds",
            "Time from claim to outcome of attempts finished in the last hour.",
            labels=["channel"],
        )
        for channel, count, total, *cumulative in connection.execute(query):
            buckets = [(str(b), float(c or 0)) for b, c in zip(LATENCY_BUCKETS, cumulative, strict=True)]
            histogram.add_metric([channel], buckets + [("+Inf", float(count))], float(total or 0.0))
        return histogram
