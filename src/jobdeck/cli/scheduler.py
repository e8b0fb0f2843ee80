"""`jobdeck scheduler`: the scheduler loop (and the safety sweep) alone, without the web server.

Several may run against one PostgreSQL store (they share the work; each firing happens once); on
SQLite one is enough. SIGTERM or Ctrl-C stops it after the step it is in; the commands it started
are stopped and recorded as cancelled.
"""

from __future__ import annotations

import re
import signal
from types import FrameType
from typing import Annotated

import typer

from jobdeck.cli.common import DbOption, console, open_store, settings_for

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
UNIT_S = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Seconds in '90', '90s', '30m', '6h' or '2d'; raise typer.BadParameter otherwise."""
    found = DURATION.match(text.lower())
    if found is None or float(found.group(1)) <= 0:
        raise typer.BadParameter(f"{text!r} is not a duration such as 90s, 30m, 6h or 2d")
    return float(found.group(1)) * UNIT_S[found.group(2)]


StaleAfter = Annotated[
    str | None,
    typer.Option("--stale-after", help="Mark a run lost when it has run this long (e.g. 6h; default 6h)"),
]


def scheduler(db: DbOption = None, stale_after: StaleAfter = None) -> None:
    """Run the scheduler loop and the safety sweep until stopped (no web server)."""
    from jobdeck.recorder import Recorder
    from jobdeck.scheduler.launch import Launcher, runs_in
    from jobdeck.scheduler.loop import Scheduler
    from jobdeck.scheduler.safety import Sweeper

    overrides: dict[str, object] = {}
    if stale_after is not None:
        overrides["stale_after_s"] = parse_duration(stale_after)
    settings = settings_for(db, **overrides)
    store = open_store(settings)
    recorder = Recorder(store)
    sweeper = Sweeper(
        store, recorder, stale_after_s=settings.stale_after_s, stale_after_by_job=settings.stale_after_by_job
    )
    celery = None
    if settings.celery_brokers:  # Celery targets are sent (their runs end through serve's consumer)
        from jobdeck.integrations.celery.executor import CeleryExecutor

        celery = CeleryExecutor(recorder.record, settings.celery_brokers)
    launcher = Launcher(recorder.record, celery=celery, run_of=runs_in(store))
    loop = Scheduler(store, recorder, launcher, sweep=sweeper)

    def stop(signum: int, _frame: FrameType | None) -> None:
        loop.stop_thread_soon()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    console.print("jobdeck scheduler running (Ctrl-C stops it)")
    try:
        loop.serve()
    finally:
        loop.launcher.close()
        if celery is not None:
            celery.close()
        store.close()


def register(app: typer.Typer) -> None:
    app.command(name="scheduler")(scheduler)
