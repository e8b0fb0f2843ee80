"""GET /metrics: the Prometheus exposition of the store's data (metrics.collector)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from jobdeck.metrics.collector import StoreCollector
from jobdeck.web.deps import StoreDep

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus' text format 0.0.4", "content": {"text/plain": {}}}},
)
async def metrics(store: StoreDep) -> Response:
    """Job counters, duration and queue-wait histograms and gauges in Prometheus' text format."""
    body = await run_in_threadpool(generate_latest, StoreCollector(store))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
