"""create_app: the FastAPI application for a store and settings."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

import jobdeck
from jobdeck import retention
from jobdeck.alerts import service as alert_service
from jobdeck.config import Settings
from jobdeck.periodic import Periodic, run_with
from jobdeck.recorder import Recorder
from jobdeck.store import Store, checkpoint
from jobdeck.web import live
from jobdeck.web.api import alerts as alerts_api
from jobdeck.web.api import channels as channels_api
from jobdeck.web.api import control as control_api
from jobdeck.web.api import errors, health, ingest, reads, seed
from jobdeck.web.api import export as export_api
from jobdeck.web.api import overlaps as overlaps_api
from jobdeck.web.api import prometheus as prometheus_api
from jobdeck.web.api import timeseries as timeseries_api
from jobdeck.web.pages import alerts as alerts_page
from jobdeck.web.pages import control as control_page
from jobdeck.web.pages import failures as failures_page
from jobdeck.web.pages import jobs as jobs_page
from jobdeck.web.pages import overview as overview_page
from jobdeck.web.pages import run_detail as run_detail_page
from jobdeck.web.pages import runs as runs_page
from jobdeck.web.proxy import RootPath

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """Build the app. The store is migrated by whoever opens it (`jobdeck serve`, tests)."""
    settings = settings or Settings()
    store = store or Store(settings.database_url)
    app = FastAPI(
        title="jobdeck",
        version=jobdeck.__version__,
        summary="One dashboard and control plane for background jobs.",
    )
    app.state.settings = settings
    app.state.store = store
    app.state.recorder = Recorder(store)
    errors.install(app)
    app.include_router(ingest.router)
    app.include_router(reads.router)
    app.include_router(control_api.router)
    app.include_router(health.router)
    app.include_router(timeseries_api.router)
    app.include_router(export_api.router)
    app.include_router(runs_page.router)
    app.include_router(run_detail_page.router)
    app.include_router(failures_page.router)
    app.include_router(control_page.router)
    app.include_router(overlaps_api.router)
    app.include_router(seed.router)
    app.include_router(live.router)
    app.include_router(overview_page.router)
    app.include_router(jobs_page.router)
    app.include_router(prometheus_api.router)
    app.include_router(alerts_api.router)
    app.include_router(channels_api.router)
    app.include_router(alerts_page.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if settings.root_path:
        app.add_middleware(RootPath, root_path=settings.root_path)
    live.install(app, store, app.state.recorder)
    control_api.install(app, store, app.state.recorder)
    retention.install(app, store, settings)
    alert_service.install(app, store, settings)
    if store.backend == "sqlite":
        run_with(app, Periodic("wal checkpoint", lambda: checkpoint.checkpoint(store), checkpoint.EVERY_S))
    return app
