"""`jobdeck run -- CMD ARGS…`: run a command as a recorded run, like any the local executor starts.

The events go where the SDK's go: into the store (`--db`, else $JOBDECK_DATABASE_URL) or to a server
($JOBDECK_URL), through the SDK's sender, so the command runs even while jobdeck is down (its events
wait in the spool) and this exits with the command's own code all the same. The command gets this
process's stdin; its stdout and stderr are passed through as they come and the tail of both, as
written, is recorded as the run's output (cron jobs report on stdout). SIGTERM, SIGINT and SIGHUP are
forwarded to it (a second one kills it), so a stop from the dashboard, Ctrl-C or a closed terminal all
end it as a cancelled run. `--timeout 5m` stops it after five minutes (SIGTERM, SIGKILL after the
grace period): a failed run with error type Timeout. A command a signal ends exits 128 + N, as a
shell reports it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Annotated, Any

import typer

from jobdeck.alerts.expectations import BadExpectation, declaration, seconds_of
from jobdeck.cli.common import DbOption, check_store_url, console, fail
from jobdeck.domain import EventKind
from jobdeck.events import Event
from jobdeck.executors import Submission
from jobdeck.executors.local import LocalExecutor
from jobdeck.executors.local_process import LocalProcess

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
MAX_JOB_CHARS = 200


def wire(event: Event, expects: dict[str, Any] | None = None) -> dict[str, Any]:
    """An event as the SDK sends it (JSON-ready); `expects` (the job's declared schedule, time zone,
    grace) goes with the run's first event."""
    found = {"run_id": event.run_id, "event": event.kind.value, "at": event.at.isoformat(), **event.data}
    if expects and event.kind is EventKind.ENQUEUED:
        found.update(expects)
    return found


class SignalForwarder:
    """Stops the command on SIGTERM, SIGINT or SIGHUP (forwarding that signal) and kills it on a
    second. Installed before the command starts: a signal that comes first is applied once it has."""

    def __init__(self) -> None:
        self.process: LocalProcess | None = None
        self.received: list[signal.Signals] = []
        for sig in FORWARDED:
            signal.signal(sig, self._handle)

    def attach(self, process: LocalProcess) -> None:
        self.process = process
        for count, sig in enumerate(self.received):
            self._apply(sig, count)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        sig = signal.Signals(signum)
        self.received.append(sig)
        if self.process is not None:
            self._apply(sig, len(self.received) - 1)

    def _apply(self, sig: signal.Signals, count: int) -> None:
        assert self.process is not None
        cause = f"jobdeck run received {sig.name}"
        if count == 0:
            self.process.stop(sig, cause)
        else:
            self.process.kill(cause)


def run(
    command: Annotated[
        list[str], typer.Argument(metavar="-- CMD [ARGS]...", help="The command and its arguments")
    ],
    job: Annotated[str, typer.Option("--job", help="The job this run is of, e.g. nightly_backup")],
    queue: Annotated[str | None, typer.Option(help="A queue name to record with the run")] = None,
    db: DbOption = None,
    grace: Annotated[
        float, typer.Option(min=0, help="Seconds between a forwarded signal and SIGKILL")
    ] = 10.0,
    schedule: Annotated[
        str | None,
        typer.Option(
            help="The job's schedule, declared as its expectation for the lateness alerts: "
            "a cron expression, or 'every 10m'"
        ),
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="The schedule's time zone (IANA name, e.g. Europe/Berlin)")
    ] = None,
    expect_grace: Annotated[
        str | None,
        typer.Option("--expect-grace", help="How late a run may start before it counts as missed (10m)"),
    ] = None,
    timeout: Annotated[
        str | None,
        typer.Option(help="Stop the command after this long (30s, 5m, 1h): a failed run, error type Timeout"),
    ] = None,
) -> None:
    """Run a command and record it as a run of JOB (exit code, stderr tail, CPU, memory); exits as it does."""
    import jobdeck.sdk

    if not job.strip() or len(job) > MAX_JOB_CHARS:
        fail(f"--job must be 1 to {MAX_JOB_CHARS} characters")
    limit_s = _timeout_of(timeout)
    expects = _expects(job, schedule, timezone, expect_grace)
    if db is not None:
        check_store_url(db)
        client = jobdeck.sdk.configure(database_url=db)
    else:
        client = jobdeck.sdk.configure()

    def record(events: Sequence[Event]) -> None:
        for event in events:
            client.emit(wire(event, expects))

    executor = LocalExecutor(
        record, grace_s=grace, wrapper=True, stderr_echo=sys.stderr.buffer, stdout_echo=sys.stdout.buffer
    )
    submission = Submission(job=job, args=list(command), kwargs={"cwd": os.getcwd()}, queue=queue)
    forwarder = SignalForwarder()
    process = executor.start(submission)
    forwarder.attach(process)
    timer = None
    if limit_s is not None:
        timer = threading.Timer(limit_s, process.time_out, args=(limit_s,))
        timer.daemon = True
        timer.start()
    outcome = process.wait()
    if timer is not None:
        timer.cancel()
    if process.start_error is not None:  # recorded as the run's error too
        console.print(f"[red]error:[/red] {process.start_error}", soft_wrap=True)
    jobdeck.sdk.shutdown()  # deliver the events (or spool them) before going
    raise typer.Exit(outcome.exit_status if outcome is not None else 1)


def _expects(job: str, schedule: str | None, timezone: str | None, grace: str | None) -> dict[str, Any]:
    """The expectation fields the run declares, checked before the command runs."""
    fields = {"schedule": schedule, "timezone": timezone, "grace": grace}
    fields = {name: value for name, value in fields.items() if value is not None}
    if fields and schedule is None:
        fail("--timezone and --expect-grace go with --schedule")
    try:
        declaration(fields, job, "run")
    except BadExpectation as exc:
        option = {"grace": "--expect-grace"}.get(exc.field, f"--{exc.field}")
        fail(f"{option}: {exc}")
    return fields


def _timeout_of(value: str | None) -> float | None:
    """--timeout as seconds: a duration such as 30s, 5m or 1h30m, or plain seconds."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = seconds_of(float(text) if text.replace(".", "", 1).isdigit() else text, "--timeout")
    except BadExpectation:
        fail(f"--timeout must be a duration such as 30s, 5m or 1h, not {value!r}")
    if seconds <= 0:
        fail("--timeout must be longer than 0 s")
    return seconds


def register(app: typer.Typer) -> None:
    # Everything from the command's first word on is the command's, options included.
    app.command("run", context_settings={"allow_interspersed_args": False})(run)
