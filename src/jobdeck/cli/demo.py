"""`jobdeck demo`: the dashboard on a live synthetic workload of eight realistic jobs."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from jobdeck.background.periodic import Periodic
from jobdeck.cli.common import DbOption, check_can_listen, console, fail, open_store, settings_for
from jobdeck.demo import live_loop
from jobdeck.demo.local_jobs import LocalSchedule
from jobdeck.demo.profiles import PROFILES
from jobdeck.demo.workload import Stream
from jobdeck.recorder import Recorder

DEFAULT_SEED = 7


def demo(
    db: DbOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    days: Annotated[float, typer.Option(min=0, help="Days of history to backfill into an empty store")] = 7,
    backfill: Annotated[
        bool, typer.Option(help="Backfill history first (an empty store) or catch up (one with runs)")
    ] = True,
    seed: Annotated[
        int, typer.Option(help="Seed of the workload; keep it to resume a demo store without duplicates")
    ] = DEFAULT_SEED,
    tick: Annotated[float, typer.Option(min=0.1, help="Seconds between live recordings")] = 1.0,
    local_jobs: Annotated[
        bool, typer.Option(help="Also run two real local jobs (small Python commands) to stop and retry")
    ] = True,
    celery_broker: Annotated[
        str | None,
        typer.Option(
            "--celery-broker",
            help="Also run a real Celery worker with demo tasks on this broker (redis://… or amqp://…), "
            "a producer sending them, and jobdeck's consumer recording them",
        ),
    ] = None,
) -> None:
    """Serve the dashboard on a synthetic workload: a week of history, then new runs in real time."""
    import uvicorn

    from jobdeck.web.app import create_app

    settings = settings_for(
        db, host=host, port=port, celery_brokers=[celery_broker] if celery_broker else None
    )
    check_can_listen(settings.host, settings.port)  # before a backfill that takes a while
    store = open_store(settings)
    app = create_app(settings, store)
    recorder: Recorder = app.state.recorder
    now = datetime.now(UTC)
    point = live_loop.starting_point(store, now, days, backfill=backfill)
    stream = Stream(point.start, seed, PROFILES)
    try:
        _record_history(recorder, stream, now, point)
    except KeyboardInterrupt:
        console.print("stopped; what was recorded stays, and the next start catches up from it")
        store.close()
        raise typer.Exit(130) from None

    # After the app's own services: they start once those run and stop before them.
    app.state.services.add(live_loop.LiveLoop(recorder, stream, tick_s=tick))
    if local_jobs:
        schedule = LocalSchedule(app.state.control.executors["local"])
        app.state.services.add(Periodic("demo local jobs", lambda: schedule.run_once(datetime.now(UTC)), 1.0))
    if celery_broker:
        try:
            from jobdeck.demo.celery_demo import CeleryDemo
        except ImportError as exc:
            fail(f"--celery-broker needs the celery extra (pip install 'jobdeck[celery]'): {exc}")
        app.state.services.add(CeleryDemo(celery_broker))
    url = f"http://{settings.host}:{settings.port}{settings.root_path}/"
    console.print(
        f"jobdeck demo serving on {url} — new runs arrive in real time (seed {seed}); Ctrl-C stops",
        soft_wrap=True,
    )
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    except KeyboardInterrupt:
        pass  # uvicorn has shut down cleanly and re-raised the signal; that is how a demo ends
    finally:
        store.close()
    console.print("demo stopped")


def _record_history(
    recorder: Recorder, stream: Stream, now: datetime, point: live_loop.StartingPoint
) -> None:
    """Record the stream's events from its start to now, with a progress bar."""
    if point.reason == "live":
        return
    began = time.perf_counter()
    events = stream.advance(now)
    label = "backfilling" if point.reason == "backfill" else "catching up"
    columns = (
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(label, total=len(events))
        stored = live_loop.record_in_batches(recorder, events, on_batch=lambda n: bar.advance(task, n))
    runs = len({event.run_id for event in events})
    hours = (now - point.start).total_seconds() / 3600
    took = time.perf_counter() - began
    console.print(f"{label}: {stored} new events of {runs} runs over {hours:.0f} h in {took:.1f} s")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
