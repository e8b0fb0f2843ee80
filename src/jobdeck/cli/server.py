"""`jobdeck migrate` and `jobdeck serve`: the store's schema, and the dashboard and API on a port."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr

from jobdeck.cli.common import DbOption, check_can_listen, console, fail, open_store, settings_for
from jobdeck.cli.scheduler import StaleAfter, parse_duration
from jobdeck.config import Settings


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
    auth: Annotated[
        bool | None,
        typer.Option("--auth", help="Require sign-in or an API token (anywhere)", show_default=False),
    ] = None,
    celery_broker: Annotated[
        list[str] | None,
        typer.Option(
            "--celery-broker",
            help="Record this Celery broker's tasks and workers (repeatable; JOBDECK_CELERY_BROKERS)",
            show_default=False,
        ),
    ] = None,
    insecure_open: Annotated[
        bool | None,
        typer.Option(
            "--insecure-open", help="Serve without sign-in on a non-loopback address", show_default=False
        ),
    ] = None,
    source_table: Annotated[
        list[str] | None,
        typer.Option(
            "--source-table",
            help="Read an existing jobs table as runs: URL#TABLE, e.g. "
            "postgresql://app@db/app#background_jobs (repeatable; read-only)",
        ),
    ] = None,
    source_map: Annotated[
        Path | None,
        typer.Option("--source-map", help="A TOML file mapping the tables' columns and status words"),
    ] = None,
    bullmq: Annotated[
        list[str] | None,
        typer.Option(
            help="BullMQ queues in this Redis: redis://host:6379/0, #PREFIX after it if not bull (repeatable)"
        ),
    ] = None,
    rq: Annotated[
        list[str] | None, typer.Option(help="RQ queues in this Redis: redis://host:6379/0 (repeatable)")
    ] = None,
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
        auth=auth,
        insecure_open=insecure_open,
        source_tables=source_table or None,
        source_map=source_map,
        celery_brokers=celery_broker or None,
        bullmq=bullmq or None,
        rq=rq or None,
    )
    check_queue_urls(settings)
    check_safe_default(settings)
    check_source_tables(settings)
    check_can_listen(settings.host, settings.port)
    store = open_store(settings)
    console.print(f"jobdeck serving on http://{settings.host}:{settings.port}{settings.root_path}/")
    if not settings.auth:
        console.print(
            "open: no sign-in (anyone who can reach this address may read and act; --auth to require it)"
        )
    if workers == 1:
        uvicorn.run(create_app(settings, store), host=settings.host, port=settings.port, log_level="warning")
        return
    # Replicas on one port: each worker process builds its app from these settings (as variables,
    # the way every jobdeck process reads them); live views reach across them as across machines.
    store.close()
    for name, value in settings.model_dump(exclude_none=True).items():
        os.environ[f"JOBDECK_{name.upper()}"] = as_variable(value)
    if settings.secret_key is None:
        # One key for every worker, so a session signed by one is good in all of them.
        os.environ["JOBDECK_SECRET_KEY"] = secrets.token_urlsafe(32)
    uvicorn.run(
        "jobdeck.web.app:create_app",
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level="warning",
    )


def check_source_tables(settings: Settings) -> None:
    """Exit with the message naming the column or status word when a source table does not fit."""
    if not settings.source_tables:
        return
    from jobdeck.integrations.table.mapping import BadMapping
    from jobdeck.integrations.table.source import check_targets

    try:
        notes = check_targets(settings)
    except BadMapping as exc:
        fail(str(exc))
    for note in notes:
        console.print(f"[yellow]warning:[/yellow] {note}", soft_wrap=True)


def as_variable(value: object) -> str:
    """A setting's value as the JOBDECK_* variable that reads back the same (lists as JSON)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_queue_urls(settings: Settings) -> None:
    """A --bullmq or --rq that is not a Redis URL: a message naming it, before anything starts."""
    from urllib.parse import urlsplit

    for flag, urls in (("--bullmq", settings.bullmq), ("--rq", settings.rq)):
        for url in urls:
            if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
                fail(f"{flag} {url!r}: give a Redis URL, e.g. redis://127.0.0.1:6379/0")


def check_safe_default(settings: Settings) -> None:
    """Refuse to serve open (no sign-in) on an address other machines reach, unless insisted on."""
    if settings.auth or settings.insecure_open or is_loopback(settings.host):
        return
    fail(
        f"refusing to serve {settings.host} without sign-in: "
        "anyone who reaches it could read runs and stop them. "
        "Add users (`jobdeck users add NAME --role admin`) and start with --auth (JOBDECK_AUTH=1), "
        "or pass --insecure-open to serve it open anyway."
    )


def register(app: typer.Typer) -> None:
    app.command("migrate")(migrate)
    app.command("serve")(serve)
