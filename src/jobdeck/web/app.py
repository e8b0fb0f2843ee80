"""create_app: the FastAPI application for a store and settings."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

import jobdeck
from jobdeck.alerts import service as alert_service
from jobdeck.auth.guard import AuthGuard
from jobdeck.auth.headers import AllowedHosts, SecurityHeaders
from jobdeck.auth.sessions import SessionCookies
from jobdeck.auth.throttle import LoginThrottle
from jobdeck.background import checkpoint, retention
from jobdeck.config import Settings
from jobdeck.control import ControlPlane
from jobdeck.integrations.celery import wiring as celery_wiring
from jobdeck.integrations.pings import routes as pings
from jobdeck.integrations.queues import QueueSources
from jobdeck.integrations.table import source as table_source
from jobdeck.recorder import Recorder
from jobdeck.services import OnStop, Service, Services
from jobdeck.store import Store
from jobdeck.web import live, openapi, params
from jobdeck.web.api import alerts as alerts_api
from jobdeck.web.api import audit as audit_api
from jobdeck.web.api import channels as channels_api
from jobdeck.web.api import control as control_api
from jobdeck.web.api import errors, health, ingest, reads, seed
from jobdeck.web.api import expectations as expectations_api
from jobdeck.web.api import export as export_api
from jobdeck.web.api import overlaps as overlaps_api
from jobdeck.web.api import prometheus as prometheus_api
from jobdeck.web.api import queues as queues_api
from jobdeck.web.api import safety as safety_api
from jobdeck.web.api import schedules as schedules_api
from jobdeck.web.api import timeseries as timeseries_api
from jobdeck.web.api import workers as workers_api
from jobdeck.web.pages import alerts as alerts_page
from jobdeck.web.pages import audit as audit_page
from jobdeck.web.pages import control as control_page
from jobdeck.web.pages import docs as docs_page
from jobdeck.web.pages import error_pages
from jobdeck.web.pages import failures as failures_page
from jobdeck.web.pages import jobs as jobs_page
from jobdeck.web.pages import login as login_page
from jobdeck.web.pages import overview as overview_page
from jobdeck.web.pages import queues as queues_page
from jobdeck.web.pages import run_detail as run_detail_page
from jobdeck.web.pages import runs as runs_page
from jobdeck.web.pages import schedules as schedules_page
from jobdeck.web.pages import workers as workers_page
from jobdeck.web.proxy import RootPath
from jobdeck.web.query_check import reject_unknown_query

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """Build the app. The store is migrated by whoever opens it (`jobdeck serve`, tests)."""
    settings = settings or Settings()
    store = store or Store(settings.database_url)
    app = FastAPI(
        title="jobdeck",
        version=jobdeck.__version__,
        summary="One dashboard and control plane for background jobs.",
        dependencies=[Depends(params.no_control_characters), Depends(reject_unknown_query)],
        # /docs is served from the package's own Swagger UI (web/pages/docs.py); ReDoc needs a CDN.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.recorder = Recorder(store, mask_keys=settings.mask_keys)
    app.state.queue_sources = QueueSources()  # integrations add theirs (integrations/queues.py)
    updates = live.LiveUpdates(store, app.state.recorder)
    app.state.live = updates.broadcaster
    control = control_api.install(app, store, app.state.recorder)
    scheduler = schedules_api.install(app, store, settings, app.state.recorder, control)
    app.state.services = background_services(store, settings, updates, control)
    for source in table_source.loops(app.state.recorder, settings):  # foreign jobs tables, polled
        app.state.services.add(source)
    # Celery brokers (--celery-broker): event consumers, queue sources, the Workers page's data.
    celery = celery_wiring.install(
        settings, store, app.state.recorder, app.state.services, app.state.queue_sources
    )
    app.state.celery = celery
    app.state.health_sections = {"celery": celery.health} if celery.consumers else {}
    app.include_router(workers_api.router)
    app.include_router(workers_page.router)
    queues_api.install(app, store, settings, app.state.recorder)  # BullMQ/RQ sources, queue sampler
    if settings.scheduler:  # last to start, first to stop: nothing new starts while the rest stops
        app.state.services.add(scheduler)
    errors.install(app)
    error_pages.install(app)
    app.include_router(docs_page.router)
    app.include_router(ingest.router)
    app.include_router(reads.router)
    app.include_router(control_api.router)
    app.include_router(schedules_api.router)
    app.include_router(safety_api.router)
    app.include_router(health.router)
    app.include_router(timeseries_api.router)
    app.include_router(export_api.router)
    app.include_router(runs_page.router)
    app.include_router(run_detail_page.router)
    app.include_router(failures_page.router)
    app.include_router(control_page.router)
    app.include_router(schedules_page.router)
    app.include_router(overlaps_api.router)
    app.include_router(seed.router)
    app.include_router(live.router)
    app.include_router(overview_page.router)
    app.include_router(jobs_page.router)
    app.include_router(audit_api.router)
    app.include_router(audit_page.router)
    app.include_router(login_page.router)
    app.include_router(prometheus_api.router)
    app.include_router(alerts_api.router)
    app.include_router(channels_api.router)
    app.include_router(alerts_page.router)
    app.include_router(pings.router)
    app.include_router(queues_api.router)
    app.include_router(queues_page.router)
    app.include_router(expectations_api.router)  # expectations declared without a run (Celery beat)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    openapi.install(app)
    install_security(app, settings, store)
    if settings.root_path:
        app.add_middleware(RootPath, root_path=settings.root_path, routes=app.router.routes)
    return app


def install_security(app: FastAPI, settings: Settings, store: Store) -> None:
    """The guard of every route (auth/rules.py), sessions, login throttling, allowed hosts and security
    headers. Middleware added later runs first: headers go on every answer, even a refused host's."""
    secret = settings.secret_key.get_secret_value() if settings.secret_key else secrets.token_urlsafe(32)
    app.state.session_cookies = cookies = SessionCookies(secret, settings.session_hours)
    app.state.login_throttle = LoginThrottle(store)
    app.add_middleware(
        AuthGuard,
        routes=app.routes,
        store=store,
        cookies=cookies,
        enabled=settings.auth,
        metrics_open=settings.metrics_open,
    )
    public = [settings.host] if settings.host not in ("0.0.0.0", "::", "") else []  # noqa: S104
    app.add_middleware(AllowedHosts, allowed=[*public, *settings.allowed_hosts])
    app.add_middleware(SecurityHeaders)


def background_services(
    store: Store, settings: Settings, updates: live.LiveUpdates, control: ControlPlane
) -> Services:
    """The app's background services in start order (they stop in reverse): the store's upkeep first
    (the WAL checkpoint on SQLite, retention cleanup when set) and last to stop, so that it runs
    while anything writes; then live updates; then the alert evaluator and its sender, which read
    and write the store like any client, so the upkeep outlives them; then the control plane, so
    that the commands it still runs are stopped and recorded as cancelled while the rest still
    runs. The integrations' services (tables, Celery, the queue sampler) follow, and create_app adds
    the scheduler (when settings.scheduler is on) after them all: it stops first, so that nothing
    new starts while the rest stops."""
    upkeep: list[Service | None] = [checkpoint.loop(store), retention.loop(store, settings)]
    services = Services(
        *(s for s in upkeep if s is not None),
        updates,
        *alert_service.loops(store, settings),
        OnStop("control plane", control.close),
    )
    return services


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The app's one lifespan: its background services run while it serves (services.Services)."""
    services: Services = app.state.services
    async with services.running():
        yield
