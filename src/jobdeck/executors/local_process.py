"""One command the local executor started: its child process, stopping it, its stderr and memory.

Peak memory needs care: a child's ru_maxrss also counts the memory of the process it was forked from
(Linux carries the old address space's peak across exec), so it is the parent's size unless the
command grew past it. Below that, the peak is the command's own VmHWM, sampled from /proc.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass

from jobdeck.domain import Status
from jobdeck.executors import procfs

log = logging.getLogger(__name__)

STDERR_TAIL_BYTES = 64 * 1024  # the tail kept of its output (stdout and stderr as written), and of stderr


@dataclass(frozen=True)
class Outcome:
    """How a command ended."""

    status: Status  # succeeded, failed or cancelled
    exit_code: int  # as os.waitstatus_to_exitcode gives it: -N when signal N ended the process

    @property
    def exit_status(self) -> int:
        """The exit code as a shell reports it: 128 + N for a process signal N ended."""
        return 128 - self.exit_code if self.exit_code < 0 else self.exit_code


class LocalProcess:
    """One command this executor started: its child process, and how it ended once it has."""

    def __init__(
        self, run_id: str, job: str, popen: subprocess.Popen[bytes] | None, grace_s: float = 10.0
    ) -> None:
        self.run_id, self.job, self.popen, self.grace_s = run_id, job, popen, grace_s
        self.pid = popen.pid if popen is not None else None
        self.outcome: Outcome | None = None
        self.start_error: str | None = None  # why it did not start, when it did not
        self.stop_signal: signal.Signals | None = None
        self.stop_cause: str | None = None  # who asked, in a few words
        self.killed_after_s: float | None = None
        self.timed_out_after_s: float | None = None  # stopped because it ran longer than this
        self._lock = threading.Lock()
        self._exited = popen is None
        self._timer: threading.Timer | None = None
        self._stderr = bytearray()
        self._output = bytearray()  # stdout and stderr together, whole lines in the order they were read
        # Each stream's line not yet ended: two pipes read by two threads would otherwise splice their
        # chunks mid-line ("disk fullrows: 12").
        self._pending = {"stdout": bytearray(), "stderr": bytearray()}
        self._done = threading.Event()
        # ru_maxrss of this process when the child was forked (what the child's inherits), and the
        # child's own peak as last sampled from /proc.
        self.inherited_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.sampled_rss_kb: int | None = None

    @property
    def exited(self) -> bool:
        return self._exited

    def stop(self, sig: signal.Signals = signal.SIGTERM, cause: str | None = None) -> bool:
        """Send `sig` to the process group, and SIGKILL after the grace period if it is still
        running. False when the process has already ended."""
        grace_s = self.grace_s
        with self._lock:
            if self._exited or self.pid is None:
                return False
            if self.stop_signal is None:
                self.stop_signal, self.stop_cause = sig, cause
            self._signal(sig)
            if self._timer is None:
                self._timer = threading.Timer(grace_s, self._kill_after, args=(grace_s,))
                self._timer.daemon = True
                self._timer.start()
        return True

    def time_out(self, after_s: float) -> bool:
        """Stop it (SIGTERM, SIGKILL after the grace period) because it ran longer than `after_s`:
        it ends as failed with error type Timeout. False when it has ended or is already stopping."""
        with self._lock:
            if self._exited or self.pid is None or self.stop_signal is not None:
                return False
            self.timed_out_after_s = after_s
        return self.stop(signal.SIGTERM, f"timed out after {after_s:g} s")

    def kill(self, cause: str | None = None) -> bool:
        """SIGKILL the process group now; False when the process has already ended."""
        with self._lock:
            if self._exited or self.pid is None:
                return False
            if self.stop_signal is None:
                self.stop_signal, self.stop_cause = signal.SIGKILL, cause
            self._signal(signal.SIGKILL)
        return True

    def wait(self, timeout: float | None = None) -> Outcome | None:
        """The outcome, once the process has ended and its end is recorded (None on timeout)."""
        self._done.wait(timeout)
        return self.outcome

    def _kill_after(self, grace_s: float) -> None:
        with self._lock:
            if not self._exited:
                self.killed_after_s = grace_s
                self._signal(signal.SIGKILL)

    def _signal(self, sig: signal.Signals) -> None:
        # Called with the lock held and the process not yet reaped, so its pid (and group) are still
        # its own: the waiter marks it exited under the same lock before reaping it.
        assert self.pid is not None
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass
        except OSError:
            log.warning("could not send %s to process group %s", sig.name, self.pid, exc_info=True)

    def mark_exited(self) -> None:
        """The process has ended (it is not reaped yet): no signal is sent to it from now on."""
        with self._lock:
            self._exited = True
            if self._timer is not None:
                self._timer.cancel()

    def add_stderr(self, chunk: bytes) -> None:
        """Keep what it wrote to stderr, the end of it (in its output too)."""
        with self._lock:
            _keep(self._stderr, chunk)
            self._add_output("stderr", chunk)

    def add_stdout(self, chunk: bytes) -> None:
        """Keep what it wrote to stdout in its output, the end of it."""
        with self._lock:
            self._add_output("stdout", chunk)

    def _add_output(self, stream: str, chunk: bytes) -> None:
        """Whole lines go to the output as they end; a very long unended line goes as it is."""
        pending = self._pending[stream]
        pending += chunk
        cut = pending.rfind(b"\n")
        if cut >= 0:
            _keep(self._output, bytes(pending[: cut + 1]))
            del pending[: cut + 1]
        if len(pending) > STDERR_TAIL_BYTES:
            _keep(self._output, bytes(pending))
            pending.clear()

    def stderr_tail(self) -> str:
        """The end of what the command wrote to stderr, from the first whole line kept."""
        with self._lock:
            raw = bytes(self._stderr)
        return _tail(raw)

    def output_tail(self) -> str:
        """The end of its output: stderr, and stdout when it was read (`jobdeck run`), as written."""
        with self._lock:
            raw = bytes(self._output) + bytes(self._pending["stderr"]) + bytes(self._pending["stdout"])
        return _tail(raw)

    def sample_memory(self) -> None:
        """Read its peak memory so far from /proc (Linux), while it runs."""
        if self.pid is not None and not self._exited:
            self.sampled_rss_kb = procfs.peak_rss_kb(self.pid) or self.sampled_rss_kb

    def peak_rss_mb(self, child_maxrss: int) -> float | None:
        """The command's peak memory, from its ru_maxrss when it grew past what it inherited, else
        from the last sample; None when neither says."""
        unit = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
        if child_maxrss > self.inherited_rss:
            return round(child_maxrss / unit, 3)
        if self.sampled_rss_kb is not None:
            return round(self.sampled_rss_kb / 1024, 3)
        return None

    def finish(self, outcome: Outcome) -> None:
        """Its end is recorded: `wait` returns the outcome from now on."""
        self.outcome = outcome
        self._done.set()


def _keep(buffer: bytearray, chunk: bytes) -> None:
    buffer += chunk
    if len(buffer) > 2 * STDERR_TAIL_BYTES:
        del buffer[:-STDERR_TAIL_BYTES]


def _tail(raw: bytes) -> str:
    """The last STDERR_TAIL_BYTES from the first whole line kept, as text."""
    if len(raw) > STDERR_TAIL_BYTES:
        raw = raw[-STDERR_TAIL_BYTES:]
        raw = b"\xe2\x80\xa6" + raw[raw.find(b"\n") + 1 :]  # starts with "…"
    return raw.decode("utf-8", errors="replace")
