"""The local executor: runs a command as a subprocess on this machine and records its run.

A run's events: `enqueued` (the job, source "local", the command in `args`, its working directory
in `kwargs`, the command's seal in `labels`) before the process starts, `started` (host, pid, worker)
once it has, a `heartbeat` every minute while it runs, then `succeeded`, `failed` or `cancelled`
with the exit code, the tail of its stderr, its CPU time and peak memory (from `os.wait4`).

The child runs in a session of its own, so a Ctrl-C meant for jobdeck does not reach it, and stopping
it signals its whole process group (a shell's children too): SIGTERM, then SIGKILL after the grace
period. Its environment names its run (JOBDECK_RUN_ID); a `jobdeck run` wrapper adds its own pid
(JOBDECK_RUN_WRAPPER_PID), so another jobdeck process on this host can check, through /proc, that a
recorded pid is still that run's before it asks the wrapper to stop it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from jobdeck.domain import EventKind, Status
from jobdeck.events import Event, make_event
from jobdeck.executors import procfs, seal
from jobdeck.executors.base import Refusal, Refused, RunInfo, Submission, record_safely
from jobdeck.executors.local_process import LocalProcess, Outcome

log = logging.getLogger(__name__)

SOURCE = "local"
RUN_ID_ENV = "JOBDECK_RUN_ID"
WRAPPER_ENV = "JOBDECK_RUN_WRAPPER_PID"
SAMPLE_S = 1.0  # how often the memory peak of running commands is read
MESSAGE_LINE_CHARS = 300

# Where events go: the recorder's `record` in a server, the SDK's sender in `jobdeck run`.
Sink = Callable[[Sequence[Event]], object]


def _now() -> datetime:
    return datetime.now(UTC)


class LocalExecutor:
    """Runs commands as subprocesses on this machine, recording each as a run with source "local".

    `wrapper=True` is for `jobdeck run`: the command shares this process's stdin, its stderr is
    echoed to `stderr_echo` and its stdout to `stdout_echo` (read, so that the run's output holds
    both; without one it shares this process's stdout), and a SIGTERM to this process stops it (its
    environment says so). A server's executor (the default) gives its commands no stdin and no stdout.
    """

    source = SOURCE

    def __init__(
        self,
        record: Sink,
        *,
        host: str | None = None,
        worker: str | None = None,
        grace_s: float = 10.0,
        heartbeat_s: float = 60.0,
        wrapper: bool = False,
        stderr_echo: IO[bytes] | None = None,
        stdout_echo: IO[bytes] | None = None,
        key_file: Path | None = None,
    ) -> None:
        self.record = record
        self.host = host or socket.gethostname() or "localhost"
        self.worker = worker or f"local@{self.host}"
        self.grace_s, self.heartbeat_s = grace_s, heartbeat_s
        self.wrapper, self.stderr_echo, self.stdout_echo = wrapper, stderr_echo, stdout_echo
        self.key_file = key_file
        self._key: bytes | None = None
        self._key_problem: str | None = None
        self._lock = threading.Lock()
        self._processes: dict[str, LocalProcess] = {}
        self._closing = threading.Event()
        self._beat: threading.Thread | None = None

    # --- submit ----------------------------------------------------------------------------------

    def why_not_submit(self, submission: Submission) -> Refusal | None:
        args, kwargs = submission.args, submission.kwargs
        if not (isinstance(args, list) and args and all(isinstance(a, str) and a for a in args)):
            return Refusal("it has no command to run: its args are not a list of strings")
        if kwargs is not None and not (isinstance(kwargs, dict) and isinstance(kwargs.get("cwd", ""), str)):
            return Refusal("its kwargs are not a local command's (a 'cwd' to run in)")
        origin = submission.retry_of
        if origin is None:
            return None  # code in this process asked: it is trusted
        if origin.host != self.host:
            where = origin.host or "an unknown host"
            return Refusal(f"it ran on {where}, and this server runs commands on {self.host} only")
        key = self._seal_key()
        if key is None:
            return Refusal(f"its command's seal cannot be checked: {self._key_problem}")
        found = origin.labels.get(seal.LABEL)
        if not seal.verify(key, found, origin.job, origin.host, args, _cwd_of(kwargs)):
            return Refusal(
                "its command does not carry a valid seal from jobdeck on this machine, so it is not run "
                "again (anyone can report a run; only commands jobdeck itself started are rerun)"
            )
        return None

    def submit(self, submission: Submission) -> str:
        return self.start(submission).run_id

    def start(self, submission: Submission) -> LocalProcess:
        """Start the command and record it; the returned process says how it ended once it has."""
        refusal = self.why_not_submit(submission)
        if refusal is not None:
            raise Refused(refusal)
        if self._closing.is_set():
            raise Refused(Refusal("this server is shutting down", conflict=True))
        run_id, job = submission.run_id, submission.job
        args: list[str] = list(submission.args)
        kwargs: dict[str, Any] = dict(submission.kwargs or {})
        cwd = _cwd_of(kwargs)
        labels: dict[str, str] = {}
        key = self._seal_key()
        if key is not None:
            labels[seal.LABEL] = seal.seal(key, job, self.host, args, cwd)
        enqueued: dict[str, Any] = {
            "job": job,
            "source": SOURCE,
            "queue": submission.queue,
            "args": args,
            "kwargs": kwargs or None,
            "parent_run_id": submission.parent_run_id,
            "labels": labels or None,
        }
        # If this cannot be recorded, nothing is started: the caller hears why.
        self.record([make_event(run_id, EventKind.ENQUEUED, _now(), enqueued)])
        env = {**os.environ, RUN_ID_ENV: run_id}
        if self.wrapper:
            env[WRAPPER_ENV] = str(os.getpid())
        quiet = None if self.wrapper else subprocess.DEVNULL
        out = subprocess.PIPE if self.wrapper and self.stdout_echo is not None else quiet
        try:
            # Starting the submitted command is this executor's job: an argument list, no shell.
            popen = subprocess.Popen(  # noqa: S603
                args,
                cwd=cwd,
                env=env,
                stdin=quiet,
                stdout=out,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            return self._failed_to_start(run_id, job, args, exc)
        process = LocalProcess(run_id, job, popen, self.grace_s)
        with self._lock:
            self._processes[run_id] = process
        started = {"job": job, "host": self.host, "pid": popen.pid, "worker": self.worker}
        self._record_safely([make_event(run_id, EventKind.STARTED, _now(), started)])
        assert popen.stderr is not None
        reader = threading.Thread(
            target=self._read_stderr, args=(process, popen.stderr), name=f"jobdeck-stderr-{popen.pid}"
        )
        reader.daemon = True
        reader.start()
        readers = [reader]
        if popen.stdout is not None:
            readers.append(
                threading.Thread(
                    target=self._read_stdout,
                    args=(process, popen.stdout),
                    name=f"jobdeck-stdout-{popen.pid}",
                    daemon=True,
                )
            )
            readers[-1].start()
        waiter = threading.Thread(
            target=self._wait, args=(process, readers), name=f"jobdeck-wait-{popen.pid}", daemon=True
        )
        waiter.start()
        self._start_heartbeats()
        return process

    def _failed_to_start(self, run_id: str, job: str, args: list[str], exc: OSError) -> LocalProcess:
        code = 127 if isinstance(exc, FileNotFoundError) else 126
        message = f"cannot run {args[0]!r}: {exc}"
        fields = {
            "job": job,
            "result": {"exit_code": code},
            "error_type": type(exc).__name__,
            "error_message": message,
        }
        self._record_safely([make_event(run_id, EventKind.FAILED, _now(), fields)])
        process = LocalProcess(run_id, job, None)
        process.start_error = message
        process.finish(Outcome(Status.FAILED, code))
        return process

    # --- cancel and terminate --------------------------------------------------------------------

    def why_not_cancel(self, run: RunInfo) -> Refusal | None:
        if run.host != self.host:
            where = run.host or "an unknown host"
            return Refusal(f"it runs on {where}, and this server acts on processes on {self.host} only")
        process = self._processes.get(run.run_id)
        if process is not None:
            return Refusal("it has just ended", conflict=True) if process.exited else None
        return self._find_wrapper(run)[0]

    def cancel(self, run: RunInfo) -> str:
        refusal = self.why_not_cancel(run)
        if refusal is not None:
            raise Refused(refusal)
        process = self._processes.get(run.run_id)
        if process is not None:
            if not process.stop(signal.SIGTERM, "asked for in jobdeck"):
                raise Refused(Refusal("it has just ended", conflict=True))
            return (
                f"SIGTERM sent to process {process.pid}; SIGKILL follows after {self.grace_s:g} s "
                "if it is still running"
            )
        _, wrapper = self._find_wrapper(run)
        assert wrapper is not None
        try:
            os.kill(wrapper, signal.SIGTERM)
        except ProcessLookupError:
            raise Refused(Refusal("its `jobdeck run` has just ended", conflict=True)) from None
        return (
            f"SIGTERM sent to its `jobdeck run` (pid {wrapper}), which stops process {run.pid} "
            "(SIGKILL after its grace period)"
        )

    def why_not_terminate(self, run: RunInfo) -> Refusal | None:
        process = self._processes.get(run.run_id)
        if process is not None:
            return Refusal("it has just ended", conflict=True) if process.exited else None
        return self.why_not_cancel(run) or Refusal(
            "only stop (SIGTERM, then SIGKILL after the grace period) reaches a run another "
            "`jobdeck run` process watches"
        )

    def terminate(self, run: RunInfo) -> str:
        process = self._processes.get(run.run_id)
        if process is None:
            raise Refused(self.why_not_terminate(run) or Refusal("it has just ended", conflict=True))
        if not process.kill("asked for in jobdeck"):
            raise Refused(Refusal("it has just ended", conflict=True))
        return f"SIGKILL sent to process {process.pid}"

    def _find_wrapper(self, run: RunInfo) -> tuple[Refusal | None, int | None]:
        """The `jobdeck run` process watching `run` in another process on this host, found through
        /proc and checked to be that run's: (None, its pid), or (why not, None)."""
        pid = run.pid
        if pid is None:
            return Refusal("it reported no process id"), None
        if not procfs.available():
            return Refusal("stopping a run another process started needs Linux's /proc"), None
        gone = Refusal(f"its process {pid} has ended without reporting how", conflict=True)
        try:
            env = procfs.environ_of(pid)
            parent = procfs.parent_of(pid)
        except ProcessLookupError:
            return gone, None
        except PermissionError:
            return Refusal(f"its process {pid} belongs to another user"), None
        if env.get(RUN_ID_ENV) != run.run_id:
            return Refusal(
                f"process {pid} is no longer this run's: the run ended without reporting it", conflict=True
            ), None
        wrapper = env.get(WRAPPER_ENV)
        if wrapper is None:
            return Refusal(
                f"another jobdeck server (process {parent}) started it, and only that one can stop it",
                conflict=True,
            ), None
        if wrapper != str(parent):
            return Refusal(
                f"its `jobdeck run` (pid {wrapper}) is gone, so nothing would record how it ends",
                conflict=True,
            ), None
        return None, parent

    # --- the life of a process -------------------------------------------------------------------

    def _read_stderr(self, process: LocalProcess, stream: IO[bytes]) -> None:
        self._read(stream, process.add_stderr, self.stderr_echo)

    def _read_stdout(self, process: LocalProcess, stream: IO[bytes]) -> None:
        self._read(stream, process.add_stdout, self.stdout_echo)

    @staticmethod
    def _read(stream: IO[bytes], keep: Callable[[bytes], None], echo: IO[bytes] | None) -> None:
        """Keep what comes from `stream` and echo it as it comes, until it closes."""
        fd = stream.fileno()
        try:
            while chunk := os.read(fd, 65536):
                keep(chunk)
                if echo is not None:
                    try:
                        echo.write(chunk)
                        echo.flush()
                    except (OSError, ValueError):
                        echo = None  # where it was echoed is gone: keep the tail all the same
        finally:
            stream.close()

    def _wait(self, process: LocalProcess, readers: list[threading.Thread]) -> None:
        assert process.popen is not None
        assert process.pid is not None
        pid = process.pid
        try:
            if hasattr(os, "waitid"):
                # Wait without reaping, then mark it ended: until it is reaped its pid cannot be
                # reused, so a stop racing its end never signals another process.
                os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
            process.mark_exited()
            _, status, usage = os.wait4(pid, 0)
            code = os.waitstatus_to_exitcode(status)
        except ChildProcessError:  # something else in this process reaped it: its status is lost
            process.mark_exited()
            code, usage = -1, None
        process.popen.returncode = code  # reaped here: Popen must not wait for it again
        for reader in readers:  # a grandchild may hold a pipe open: do not wait for it forever
            reader.join(timeout=2)
        outcome, fields = self._outcome(process, code, usage)
        self._record_safely([make_event(process.run_id, _KIND[outcome.status], _now(), fields)])
        with self._lock:
            self._processes.pop(process.run_id, None)
        process.finish(outcome)

    def _outcome(self, process: LocalProcess, code: int, usage: Any) -> tuple[Outcome, dict[str, Any]]:
        fields: dict[str, Any] = {"job": process.job, "result": {"exit_code": code}}
        if usage is not None:
            fields.update(
                cpu_s=round(usage.ru_utime + usage.ru_stime, 6),
                max_rss_mb=process.peak_rss_mb(usage.ru_maxrss),
            )
        tail = process.output_tail()
        last = _last_line(process.stderr_tail()) or _last_line(tail)
        if process.timed_out_after_s is not None:
            message = f"timed out after {_seconds(process.timed_out_after_s)}: stopped with SIGTERM"
            if process.killed_after_s is not None:
                message += f", then SIGKILL after {process.killed_after_s:g} s"
            if last:
                message += f"; last line: {last}"
            fields.update(error_type="Timeout", error_message=message, traceback=tail or None)
            return Outcome(Status.FAILED, code), fields
        if process.stop_signal is not None:
            message = f"stopped with {process.stop_signal.name}"
            if process.killed_after_s is not None:
                message += f", then SIGKILL after {process.killed_after_s:g} s"
            if process.stop_cause:
                message += f" ({process.stop_cause})"
            fields.update(error_message=message, traceback=tail or None)
            return Outcome(Status.CANCELLED, code), fields
        if code == 0:
            if tail:
                fields["traceback"] = tail  # its output, kept for a run that succeeded too
            return Outcome(Status.SUCCEEDED, code), fields
        if code < 0:
            kind, message = "KilledBySignal", f"killed by {_signal_name(-code)}"
        else:
            kind, message = "NonZeroExit", f"exit code {code}"
        if last:
            message += ": " + last
        fields.update(error_type=kind, error_message=message, traceback=tail or None)
        return Outcome(Status.FAILED, code), fields

    def _start_heartbeats(self) -> None:
        with self._lock:
            if self._beat is not None or self.heartbeat_s <= 0:
                return
            self._beat = threading.Thread(target=self._heartbeats, name="jobdeck-heartbeat", daemon=True)
            self._beat.start()

    def _heartbeats(self) -> None:
        """Every second, sample the memory of the commands running; every `heartbeat_s`, record a
        heartbeat for each."""
        last_beat = time.monotonic()
        while not self._closing.wait(min(SAMPLE_S, self.heartbeat_s)):
            running = self.running()
            for process in running:
                process.sample_memory()
            if time.monotonic() - last_beat < self.heartbeat_s:
                continue
            last_beat = time.monotonic()
            now = _now()
            beats = [make_event(p.run_id, EventKind.HEARTBEAT, now, {"job": p.job}) for p in running]
            if beats:
                self._record_safely(beats)

    def _record_safely(self, events: list[Event]) -> None:
        record_safely(self.record, events)

    def _seal_key(self) -> bytes | None:
        if self._key is None and self._key_problem is None:
            try:
                self._key = seal.load_key(self.key_file)
            except (OSError, ValueError) as exc:
                path = self.key_file or seal.key_path()
                self._key_problem = f"the key {path} cannot be read or made ({exc})"
                log.warning("local executor: %s; the commands it starts cannot be rerun", self._key_problem)
        return self._key

    # --- shutting down ---------------------------------------------------------------------------

    def running(self) -> list[LocalProcess]:
        """The processes this executor started that have not ended yet."""
        with self._lock:
            return [p for p in self._processes.values() if not p.exited]

    def close(self) -> None:
        """Stop every command still running (SIGTERM, SIGKILL after the grace period) and wait for
        their ends to be recorded."""
        self._closing.set()
        processes = self.running()
        for process in processes:
            process.stop(signal.SIGTERM, "jobdeck shut down")
        for process in processes:
            process.wait(self.grace_s + 5)


_KIND = {
    Status.SUCCEEDED: EventKind.SUCCEEDED,
    Status.FAILED: EventKind.FAILED,
    Status.CANCELLED: EventKind.CANCELLED,
}


def _last_line(text: str) -> str:
    """The last line that is not blank, cut at MESSAGE_LINE_CHARS."""
    last = next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")
    return last if len(last) <= MESSAGE_LINE_CHARS else last[:MESSAGE_LINE_CHARS] + "…"


def _seconds(value: float) -> str:
    """A duration as people write it: 90 s, 5 min, 2 h."""
    for unit, size in (("h", 3600), ("min", 60)):
        if value >= size and value % size == 0:
            return f"{value / size:g} {unit}"
    return f"{value:g} s"


def _cwd_of(kwargs: Any) -> str | None:
    cwd = kwargs.get("cwd") if isinstance(kwargs, dict) else None
    return cwd if isinstance(cwd, str) and cwd else None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
