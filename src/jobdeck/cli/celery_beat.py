"""`jobdeck celery-beat MODULE:APP`: declare a Celery app's beat schedule as its tasks' expectations
(what `instrument(app)` does by itself), from the command line: to jobdeck's API (--url, or
$JOBDECK_URL with $JOBDECK_TOKEN) or straight into a store (--db, or $JOBDECK_DATABASE_URL)."""

from __future__ import annotations

import dataclasses
import sys
from typing import Annotated

import typer

from jobdeck.cli.common import DbOption, console, fail, out


def celery_beat(
    app_path: Annotated[
        str, typer.Argument(metavar="MODULE:APP", help="The Celery app, e.g. proj.celery:app")
    ],
    url: Annotated[str | None, typer.Option(help="jobdeck's URL (default $JOBDECK_URL)")] = None,
    token: Annotated[str | None, typer.Option(help="An ingest token (default $JOBDECK_TOKEN)")] = None,
    db: DbOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only print what would be declared")] = False,
) -> None:
    """Declare a Celery app's beat schedule (crontab and interval entries) as its tasks' expectations."""
    from jobdeck.integrations.celery.beat import SOURCE, declarations
    from jobdeck.scheduler.call import resolve
    from jobdeck.sdk.client import transport_for
    from jobdeck.sdk.settings import SdkSettings, server_url
    from jobdeck.sdk.transport import Rejected, Unavailable

    if ":" not in app_path:
        fail(f"{app_path!r}: give the app as MODULE:APP, e.g. proj.celery:app")
    if "" not in sys.path:
        sys.path.insert(0, "")  # the current directory, as `celery -A` does
    try:
        app = resolve(app_path)
    except (ImportError, AttributeError) as exc:
        fail(f"cannot load {app_path}: {exc}")
    if not hasattr(app, "conf"):
        fail(f"{app_path} is not a Celery app")
    found = declarations(app)
    if not found:
        fail(f"{app_path} has no beat entries with a crontab or interval schedule", code=1)
    for declared in found:
        out.print(f"{declared['job']}\t{declared['schedule']}\t{declared['timezone']}", highlight=False)
    if dry_run:
        return
    settings = SdkSettings.from_env()
    if url is not None:
        settings = dataclasses.replace(settings, url=server_url(url))
    elif db is not None:
        settings = dataclasses.replace(settings, url=None, database_url=db)
    if token is not None:
        settings = dataclasses.replace(settings, token=token)
    transport = transport_for(settings)
    try:
        transport.declare(found, SOURCE)  # type: ignore[attr-defined]
    except (Unavailable, Rejected) as exc:
        fail(f"not declared: {exc}", code=1)
    finally:
        transport.close()
    console.print(f"declared {len(found)} expectation(s) from {app_path}'s beat schedule")


def register(app: typer.Typer) -> None:
    app.command(name="celery-beat")(celery_beat)
