"""`jobdeck migrate` and `jobdeck serve`: the store's schema, and the dashboard and API on a port."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from jobdeck.cli.common import DbOption, check_can_listen, console, open_store, settings_for
from jobdeck.cli.scheduler import StaleAfter, parse_duration


def migrate(db: DbOption = None) -> None:
    """Create or upgrade the store's schema."""
    settings = settings_for(db)
    store = open_store(settings)
    console.print(f"store at {store.engine.url.render_as_string(hide_password=True)} is up to date")


def serve(
    db: DbOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    root_path: Annotated[str | None, typer.Option(help="Path prefix when behind a reverse proxy")] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes on the port (replicas sharing the store)")
    ] = 1,
    alert_interval: Annotated[
        float | None, typer.Option(min=0, help="Seconds between evaluations of the alert rules (0: off)")
    ] = None,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Do not fire schedules or sweep for stuck runs here")
    ] = False,
    stale_after: StaleAfter = None,
) -> None:
    """Serve the dashboard and API (migrating the store first), with the scheduler loop."""
    import uvicorn

    from jobdeck.web.app import create_app

    stale_after_s = parse_duration(stale_after) if stale_after is not None else None
    settings = settings_for(
        db,
        host=host,
        port=port,
        root_path=root_path,
        scheduler=not no_scheduler,
        stale_after_s=stale_after_s,
        alert_interval_s=alert_interval,
    )
    check_can_listen(settings.host, settings.port)
    store = open_store(settings)
    console.print(f"jobdeck serving on http://{settings.host}:{settings.port}{settings.root_path}/")
    if workers == 1:
        uvicorn.run(create_app(settings, store), host=settings.host, port=settings.port, log_level="warning")
        return
    # Replicas on one port: each worker process builds its app from these settings (as variables,
    # the way every jobdeck process reads them); live views reach across them as across machines.
    store.close()
    for name, value in settings.model_dump(exclude_none=True).items():
        os.environ[f"JOBDECK_{name.upper()}"] = json.dumps(value) if isinstance(value, dict) else str(value)
    uvicorn.run(
        "jobdeck.web.app:create_app",
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level="warning",
    )


def register(app: typer.Typer) -> None:
    app.command("migrate")(migrate)
    app.command("serve")(serve)
