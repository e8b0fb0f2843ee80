"""`track`: the decorator and context manager that report a job's runs."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast, overload

from jobdeck.sdk import payload, wire
from jobdeck.sdk.client import Client, get_client
from jobdeck.sdk.transport import EventDict

log = logging.getLogger("jobdeck.sdk")
P = ParamSpec("P")
R = TypeVar("R")
_current: ContextVar[Run | None] = ContextVar("jobdeck_run", default=None)
_UNSET: Any = object()
# Ending a run this way is the job being stopped, not the job failing.
_CANCELLING = (KeyboardInterrupt, asyncio.CancelledError, GeneratorExit)


def _job_name(job: str) -> str:
    if not isinstance(job, str) or not job.strip() or len(job) > payload.MAX_SHORT:
        raise ValueError(f"a job name is 1 to {payload.MAX_SHORT} characters, not {job!r}")
    return job


class Run:
    """One run of a job, reported as it goes: use it as `with` or `async with`."""

    source = "sdk"  # what its start reports as the run's source

    def __init__(
        self,
        job: str,
        *,
        run_id: str | None = None,
        queue: str | None = None,
        labels: Mapping[str, Any] | None = None,
        args: Any = None,
        kwargs: Any = None,
        worker: str | None = None,
        expects: Mapping[str, Any] | None = None,
    ) -> None:
        self._setup(
            _job_name(job),
            payload.clip(run_id, payload.MAX_SHORT) if run_id else uuid.uuid4().hex,
            queue=payload.clip(queue, payload.MAX_SHORT) if queue else None,
            labels=payload.labels_of(labels),
            args=args,
            kwargs=kwargs,
            worker=worker,
            # What the job declares about its runs (schedule, timezone, grace, max_runtime): sent
            # with the start, so the server knows when a run is late, missed or too long.
            expects={name: value for name, value in (expects or {}).items() if value is not None},
        )

    def _setup(
        self,
        job: str,
        run_id: str,
        *,
        queue: str | None,
        labels: dict[str, str] | None,
        args: Any,
        kwargs: Any,
        worker: str | None,
        expects: dict[str, Any],
    ) -> None:
        """Set the run's fields from values already checked and clipped (`__init__` does that)."""
        self.job = job
        self.expects = expects
        self.run_id = run_id
        self.queue = queue
        self.labels = labels
        self.args, self.kwargs = args, kwargs
        self.worker = worker
        self.result: Any = _UNSET
        self.items_succeeded = self.items_failed = self.items_skipped = 0
        self._lock = threading.Lock()
        self._client: Client | None = None
        self._token: Token[Run | None] | None = None
        self._cpu_start = 0.0
        self._last_sent = self._last_progress = 0.0
        self._progress_due = False
        self._trusted = False  # its start passed the check: its later events need none (_send)

    def __repr__(self) -> str:
        return f"<Run {self.job} {self.run_id}>"

    # Reporting.

    def progress(self, succeeded: int = 0, failed: int = 0, skipped: int = 0) -> None:
        """Add to the run's item counts; the server sees the totals (at most once a `progress_interval`)."""
        now = time.monotonic()
        with self._lock:
            self.items_succeeded += max(0, int(succeeded))
            self.items_failed += max(0, int(failed))
            self.items_skipped += max(0, int(skipped))
            event = self._progress_event(now) if self._interval_passed(now) else None
            self._progress_due = event is None
        if event is not None:
            self._send(event)

    def due_events(self, now: float) -> list[EventDict]:
        """Progress held back by throttling, or a heartbeat when the run has been quiet too long."""
        if self._client is None:
            return []
        with self._lock:
            if self._progress_due and self._interval_passed(now):
                self._progress_due = False
                return [self._progress_event(now)]
            every = self._client.settings.heartbeat_interval_s
            if every > 0 and now - self._last_sent >= every:
                self._last_sent = now
                return [self._event("heartbeat")]
        return []

    def _interval_passed(self, now: float) -> bool:
        every = self._client.settings.progress_interval_s if self._client else 0.0
        return self._last_progress == 0.0 or now - self._last_progress >= every

    def _progress_event(self, now: float) -> EventDict:
        self._last_progress = self._last_sent = now
        return self._event("progress", **self._items())

    def _items(self) -> dict[str, int]:
        return {
            "items_succeeded": self.items_succeeded,
            "items_failed": self.items_failed,
            "items_skipped": self.items_skipped,
        }

    def _event(self, kind: str, **fields: Any) -> EventDict:
        event = {"run_id": self.run_id, "event": kind, "job": self.job, "at": payload.now_iso()}
        if fields:
            event.update(fields)
        return event

    def _emit(self, event: EventDict) -> None:
        if self._client is not None:
            self._client.emit(event)

    def _send(self, event: EventDict) -> None:
        """Queue an event this class built. Once the start passed the check, a later event differs
        from it only in what is built here (its time, the counts, a captured result, an error made
        storable and clipped), so only the counts, which come from the caller, are looked at."""
        if self._client is None:
            return
        if (
            self._trusted
            and max(self.items_succeeded, self.items_failed, self.items_skipped) <= wire.MAX_COUNT
        ):
            self._client.queue(event)
        else:
            self._client.emit(event)

    # Beginning and end.

    def start(self) -> Run:
        """Report the start (called by `with`)."""
        event = self._event("started", source=self.source, **payload.process_fields(self.worker))
        if self.queue is not None:
            event["queue"] = self.queue
        if self.labels is not None:
            event["labels"] = self.labels
        if self.args is not None:
            event["args"] = payload.captured(self.args)
        if self.kwargs is not None:
            event["kwargs"] = payload.captured(self.kwargs)
        if self.expects:
            event.update(self.expects)
        return self._begin(event, wire.acceptable(event))

    def _begin(self, event: EventDict, trusted: bool) -> Run:
        """Send the start `event` (`trusted`: it passed the check) and make the run current."""
        if self._client is not None:
            raise RuntimeError(f"{self!r} has already started; make a new run for each execution")
        try:
            self._client = get_client()
        except Exception:
            log.exception("jobdeck: no client, so run %s of %s is not reported", self.run_id, self.job)
        self._token = _current.set(self)
        self._cpu_start = time.thread_time()
        self._last_sent = time.monotonic()
        self._trusted = trusted
        self._send(event)
        if self._client is not None:
            self._client.started(self)
        return self

    def finish(self, exc: BaseException | None = None) -> None:
        """Report the outcome: succeeded, or failed (or cancelled) with the exception (called by `with`)."""
        cpu_s = max(0.0, time.thread_time() - self._cpu_start)
        event = self._event("succeeded")  # its kind set below
        with self._lock:
            self._progress_due = False
            event["items_succeeded"] = self.items_succeeded
            event["items_failed"] = self.items_failed
            event["items_skipped"] = self.items_skipped
        event["cpu_s"] = round(cpu_s, 6)
        peak = payload.peak_rss_mb()
        if peak is not None:
            event["max_rss_mb"] = peak
        if exc is None or (isinstance(exc, SystemExit) and exc.code in (0, None)):
            if self.result is not _UNSET:
                event["result"] = payload.captured(self.result)
        else:
            event["event"] = "cancelled" if isinstance(exc, _CANCELLING) else "failed"
            event.update(payload.error_fields(exc))
        self._send(event)
        if self._client is not None:
            self._client.finished(self)
        if self._token is not None:
            try:
                _current.reset(self._token)
            except ValueError:
                _current.set(None)  # ended in another context than it began in
            self._token = None

    def __enter__(self) -> Run:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.finish(exc)

    async def __aenter__(self) -> Run:
        return self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.finish(exc)


class Tracker:
    """`@track("job")` on a function or coroutine function; `with track.run("job") as run:` around code."""

    @overload
    def __call__(self, job: Callable[P, R], /) -> Callable[P, R]: ...

    @overload
    def __call__(
        self,
        job: str | None = None,
        /,
        *,
        queue: str | None = None,
        labels: Mapping[str, Any] | None = None,
        capture_args: bool = True,
        capture_result: bool = True,
        worker: str | None = None,
        schedule: str | None = None,
        timezone: str | None = None,
        grace: str | float | None = None,
        max_runtime: str | float | None = None,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    def __call__(
        self,
        job: str | Callable[..., Any] | None = None,
        /,
        *,
        queue: str | None = None,
        labels: Mapping[str, Any] | None = None,
        capture_args: bool = True,
        capture_result: bool = True,
        worker: str | None = None,
        schedule: str | None = None,
        timezone: str | None = None,
        grace: str | float | None = None,
        max_runtime: str | float | None = None,
    ) -> Any:
        """Decorate a function so each call is a run of `job` (default: the function's dotted name).

        Each run records the call's args and kwargs and its return value (as JSON, each clipped to
        payload.MAX_CAPTURE_CHARS); pass `capture_args=False` for code that is passed secrets, and
        `capture_result=False` for one that returns them. `schedule` (cron, or "every 10m"),
        `timezone`, `grace` and `max_runtime` ("10m", "1h" or seconds) declare when runs are due and
        how long one may take: jobdeck alerts on a missed, late or overrunning run against them."""
        if isinstance(job, str):
            _job_name(job)
        expects = {"schedule": schedule, "timezone": timezone, "grace": grace, "max_runtime": max_runtime}

        def decorate(func: Callable[P, R]) -> Callable[P, R]:
            name = _job_name(job if isinstance(job, str) else f"{func.__module__}.{func.__qualname__}"[-200:])

            def new_run(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Run:
                return Run(
                    name,
                    queue=queue,
                    labels=labels,
                    args=list(args) if capture_args else None,
                    kwargs=kwargs if capture_args else None,
                    worker=worker,
                    expects=expects,
                )

            return _wrap(func, new_run, capture_result)

        if callable(job):
            return decorate(job)
        return decorate

    def run(
        self,
        job: str,
        *,
        run_id: str | None = None,
        queue: str | None = None,
        labels: Mapping[str, Any] | None = None,
        args: Any = None,
        kwargs: Any = None,
        worker: str | None = None,
        schedule: str | None = None,
        timezone: str | None = None,
        grace: str | float | None = None,
        max_runtime: str | float | None = None,
    ) -> Run:
        """A run of `job` to use as `with track.run(...) as run:` (or `async with`); the schedule
        fields declare what the job expects, as on `@track`."""
        expects = {"schedule": schedule, "timezone": timezone, "grace": grace, "max_runtime": max_runtime}
        return Run(
            job,
            run_id=run_id,
            queue=queue,
            labels=labels,
            args=args,
            kwargs=kwargs,
            worker=worker,
            expects=expects,
        )

    @staticmethod
    def current() -> Run | None:
        """The run the calling code is part of, if any (to report progress from a decorated function)."""
        return _current.get()


def _wrap(
    func: Callable[P, R], new_run: Callable[[tuple[Any, ...], dict[str, Any]], Run], capture_result: bool
) -> Callable[P, R]:
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError(
            f"track cannot follow a generator function ({func.__qualname__}); use track.run inside"
        )
    if inspect.iscoroutinefunction(func):
        async_func = cast(Callable[..., Awaitable[Any]], func)

        @functools.wraps(func)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            async with new_run(args, kwargs) as run:
                value = await async_func(*args, **kwargs)
                if capture_result:
                    run.result = value
                return value

        return cast(Callable[P, R], run_async)

    @functools.wraps(func)
    def run_sync(*args: P.args, **kwargs: P.kwargs) -> R:
        with new_run(args, kwargs) as run:
            value = func(*args, **kwargs)
            if capture_result:
                run.result = value
            return value

    return run_sync


track = Tracker()
