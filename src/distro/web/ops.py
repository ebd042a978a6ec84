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
from collections.abc import Iterator
from datetime import datetime, timedelta

import fastapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from distro.app import App
from distro.models import DeliveryStatus, utcnow
from distro.services.source_list import every_source
from distro.services.status import Latency, database_down, read_metrics
from distro.web.deps import AppDep

router = fastapi.APIRouter()  # public like every route: in the schema, and so fuzzed
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LATENCY_WINDOW = timedelta(hours=1)
QUEUED = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


@router.get("/healthz")
def healthz(app: AppDep) -> JSONResponse:
    """200 when the database answers, else 503 with the reason's type (never the URL or its password)."""
    down = database_down(app)  # the load balancer only needs the code
    if down is not None:
        return JSONResponse({"status": "unavailable", "error": down}, status_code=503)
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
    sources = [source.name for source in every_source(app)]  # the TOML file's and the desk's
    registry.register(DatabaseCollector(app, sources=sources))
    return Response(
        generate_latest(registry), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
    )


class DatabaseCollector:
    """A prometheus_client collector whose values are read from the delivery log on each scrape."""

    def __init__(self, app: App, *, sources: list[str], now: datetime | None = None) -> None:
        self.app = app
        self.sources = sources  # the configured source names: the only ones labelled
        self.now = now

    def collect(self) -> Iterator[Metric]:
        since = (self.now or utcnow()) - LATENCY_WINDOW
        found = read_metrics(self.app, self.sources, since=since, bounds=LATENCY_BUCKETS)
        yield from self._deliveries(found.deliveries)
        yield self._poll_errors(found.failing_sources)
        yield self._latency(found.latency)

    @staticmethod
    def _deliveries(totals: dict[str, dict[str, int]]) -> Iterator[Metric]:
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
        for channel, counts in sorted(totals.items()):
            sent.add_metric([channel], counts.get(DeliveryStatus.SENT, 0))
            failed.add_metric([channel], counts.get(DeliveryStatus.FAILED, 0))
            queued.add_metric([channel], sum(counts.get(s, 0) for s in QUEUED))
            held.add_metric([channel], counts.get(DeliveryStatus.HELD, 0))
        yield from (sent, failed, queued, held)

    def _poll_errors(self, failing: set[str]) -> Metric:
        gauge = GaugeMetricFamily(
            "distro_source_poll_error",
            "1 when the configured source's last poll failed (`distro status`).",
            labels=["source"],
        )
        for name in sorted(set(self.sources)):
            gauge.add_metric([name], 1 if name in failing else 0)
        return gauge

    @staticmethod
    def _latency(rows: list[Latency]) -> Metric:
        """Send latency (claim to outcome) of attempts that finished in the last hour, by channel."""
        histogram = HistogramMetricFamily(
            "distro_send_latency_seconds",
            "Time from claim to outcome of attempts finished in the last hour.",
            labels=["channel"],
        )
        for row in rows:
            buckets = [(str(b), float(c)) for b, c in zip(LATENCY_BUCKETS, row.within, strict=True)]
            histogram.add_metric([row.channel], buckets + [("+Inf", float(row.count))], row.total_seconds)
        return histogram
