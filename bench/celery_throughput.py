"""One Celery worker's throughput with no monitor, with jobdeck (each mode) and with Flower, in one run.

    python bench/celery_throughput.py                      # 100,000 tasks a configuration
    python bench/celery_throughput.py --tasks 5000 --json  # a quick check, machine-readable
    python bench/celery_throughput.py --big-store sqlite:////tmp/scale/10m-200.db  # also reads at 10M
    python bench/celery_throughput.py --tasks 20000 --only none --only instrumented --rounds 5 --pin
                                        # what instrumented mode costs the worker itself, interleaved

Flower is not a dependency of jobdeck: the bench installs it into this venv when it is missing
(`pip install 'flower>=2.2,<3'`), or leave it out with `--skip flower`.

The same trivial task (`bench.add`, which INCRs a Redis counter so completions are counted without a
result backend) through one prefork worker (`-c 2`), each configuration on a flushed Redis db:

- `none`: no monitor, the worker sends no events (the baseline);
- `events`: `jobdeck serve --celery-broker` on a new SQLite store; it enables the worker's events;
- `instrumented`: `instrument(app)` in the worker and the producer, recording through the SDK to a
  `jobdeck serve` (new SQLite store, no `--celery-broker`) at JOBDECK_URL; the worker sends no events;
- `flower`: Flower 2.x (`celery flower --max_tasks N`, so it keeps every task as jobdeck does); it
  enables the worker's events;
- `sink` (only with `--only sink`): as `instrumented`, but to `bench/event_sink.py`, which only counts
  the events: what the SDK costs the worker without a server recording on the same two cores.

For each: the worker is started and ready (and its events enabled by the monitor), its consumer of
the queue cancelled; a producer process sends N tasks as fast as it can (`apply_async` in a loop on
one connection); then the worker's consumer is added back and the time until the counter reaches N
is the worker's throughput (the queue is full all along, the producer does not compete for the CPU).
Memory of the monitor process (VmRSS from /proc, and VmHWM as the peak) idle, at 20 % and at 100 %
of the tasks done, and once it has recorded all of them; then the list read a dashboard makes
(`GET /api/v1/runs?limit=100`, or Flower's `GET /api/tasks?limit=100`), the median of 21. For
jobdeck: how many runs it recorded (`/api/v1/stats`, succeeded) and how long after the last task
it had them all (the consumer's lag).

`--rounds N` runs the configurations N times, interleaved (none, instrumented, none, …), and
prints for each configuration the median over the rounds of its throughput divided by the same
round's `none` and of its worker CPU a task above that round's `none` (the machine is shared: its
speed drifts between minutes, not within a pair). `--pin` gives the worker one pool process and a
CPU of its own (`taskset`), and puts everything else — the monitor at `nice 19`, the producer and a
Redis started for the bench — on the other CPU: what the monitoring costs the worker itself, as
where the broker and the monitor run on other machines (on two CPUs, a monitor beside the worker
takes CPU from it, and one beside the broker slows every broker reply). `--no-sdk-timing` leaves
out the timing around the SDK's handlers (a few µs a task of its own); `--profile-pool DIR`
writes a cProfile of each pool process and of the worker's main process.

The module is also the Celery app the worker imports (`-A celery_throughput`, from bench/).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from celery import Celery, signals

BROKER = os.environ.get("BENCH_CELERY_BROKER", "redis://127.0.0.1:6379/10")
QUEUE = "bench"
COUNTER = "bench:done"

app = Celery("celery_throughput", broker=BROKER)
app.conf.update(
    task_default_queue=QUEUE,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
SDK_CPU = "bench-sdk-cpu"  # the line each pool process logs at its end: its SDK's CPU seconds


def measure_sdk(instrumentation: Any) -> None:
    """Time the instrumentation's signal handlers (their thread's CPU), and log it with the SDK
    sender thread's CPU as each pool process ends: the SDK's own cost inside the worker."""
    import logging
    import threading

    spent = {"handlers": 0.0, "tasks": 0}
    per_task = (signals.task_prerun, signals.task_success, signals.task_failure, signals.task_postrun)
    for sent_by, handler in list(instrumentation._handlers):
        if sent_by not in per_task:
            continue
        sent_by.disconnect(handler)

        def timed(*args: Any, _handler: Any = handler, **kwargs: Any) -> None:
            began = time.thread_time()
            try:
                _handler(*args, **kwargs)
            finally:
                spent["handlers"] += time.thread_time() - began

        sent_by.connect(timed, weak=False)

    @signals.task_postrun.connect(weak=False)
    def count(**_: Any) -> None:
        spent["tasks"] += 1

    @signals.worker_process_shutdown.connect(weak=False)
    def report(**_: Any) -> None:
        from jobdeck.sdk import client

        sender = client._client.sender._thread if client._client is not None else None
        sender_s = 0.0
        if isinstance(sender, threading.Thread) and sender.ident is not None and sender.is_alive():
            sender_s = time.clock_gettime(time.pthread_getcpuclockid(sender.ident))
        logging.getLogger("bench").warning(
            "%s handlers=%.6f sender=%.6f tasks=%d", SDK_CPU, spent["handlers"], sender_s, spent["tasks"]
        )


if os.environ.get("BENCH_INSTRUMENT") == "1":
    from jobdeck.integrations.celery import instrument

    instrumented_app = instrument(app)
    if os.environ.get("BENCH_SDK_TIMING", "1") == "1":
        measure_sdk(instrumented_app)

if os.environ.get("BENCH_PROFILE_DIR"):
    # --profile-pool: each pool process's main thread under cProfile, its stats written as it ends.
    import cProfile

    _profile = cProfile.Profile()

    @signals.worker_process_init.connect(weak=False)
    def _profile_start(**_: Any) -> None:
        _profile.enable()

    @signals.worker_process_shutdown.connect(weak=False)
    def _profile_stop(**_: Any) -> None:
        _profile.disable()
        _profile.dump_stats(Path(os.environ["BENCH_PROFILE_DIR"]) / f"pool-{os.getpid()}.prof")

    # and the worker's main process (it takes the tasks from the broker and hands them to the pool)
    _main_profile = cProfile.Profile()

    @signals.worker_ready.connect(weak=False)
    def _main_start(**_: Any) -> None:
        _main_profile.enable()

    @signals.worker_shutting_down.connect(weak=False)
    def _main_stop(**_: Any) -> None:
        _main_profile.disable()
        _main_profile.dump_stats(Path(os.environ["BENCH_PROFILE_DIR"]) / f"main-{os.getpid()}.prof")


_counter: Any = None


@app.task(name="bench.add")
def add(x: int, y: int) -> int:
    global _counter
    if _counter is None:
        import redis

        _counter = redis.Redis.from_url(BROKER)
    _counter.incr(COUNTER)
    return x + y


@signals.after_setup_logger.connect
def _quiet_task_lines(**_: Any) -> None:
    """Keep the worker's INFO lines (ready, events enabled) but not two lines per task."""
    import logging

    for name in ("celery.app.trace", "celery.worker.strategy", "celery.worker.request"):
        logging.getLogger(name).setLevel(logging.WARNING)


# --- the bench ---------------------------------------------------------------------------------

BENCH_DIR = Path(__file__).resolve().parent
JOBDECK = str(Path(sys.executable).with_name("jobdeck"))
CONFIGS = ("none", "events", "instrumented", "flower")
# Not run unless asked: instrumented mode sending to bench/event_sink.py, which only counts the
# events (what the SDK costs the worker, without a server recording on the same cores).
CHOICES = (*CONFIGS, "sink")
READS = 21


@dataclass
class Result:
    config: str
    tasks: int
    round: int = 1
    send_s: float = 0.0
    run_s: float = 0.0
    tasks_per_s: float = 0.0
    vs_none: float | None = None
    rss_idle_mb: float | None = None
    rss_20_mb: float | None = None
    rss_100_mb: float | None = None
    rss_recorded_mb: float | None = None
    rss_peak_mb: float | None = None
    recorded: int | None = None
    lag_s: float | None = None
    read_ms: float | None = None
    read_first_ms: float | None = None
    worker_cpu_ms_per_task: float = 0.0
    worker_main_cpu_ms_per_task: float = 0.0  # of it, the worker's main process (not the pool's)
    monitor_cpu_ms_per_task: float | None = None
    # Instrumented: the CPU of the SDK's signal handlers and sender thread in the pool processes.
    sdk_handlers_us_per_task: float | None = None
    sdk_sender_us_per_task: float | None = None
    notes: list[str] = field(default_factory=list)


def rss_mb(pid: int, key: str = "VmRSS") -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int, descendants: bool = True) -> float:
    """CPU seconds (user + system) of a live process and (unless not asked) its live descendants."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        for task in Path(f"/proc/{pid}/task").iterdir() if descendants else ():
            for child in (task / "children").read_text().split():
                total += cpu_s(int(child))
    except (OSError, IndexError, ValueError):
        pass
    return total


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if check():
            return time.monotonic() - began
        time.sleep(step)
    raise TimeoutError(f"{what}: not after {timeout:.0f} s")


def http_ok(url: str) -> bool:
    import httpx2 as httpx

    try:
        return httpx.get(url, timeout=2.0).status_code < 500
    except httpx.HTTPError:
        return False


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBDECK_", "BENCH_", "FLOWER_"))}
    env["BENCH_CELERY_BROKER"] = BROKER
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH_DIR), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


@dataclass
class Placement:
    """Where the processes run: by default anywhere, the worker with 2 pool processes. With `--pin`
    the worker (1 pool process) has a CPU of its own and everything else — the monitor, the producer,
    a Redis of the bench's own — the other: what the monitoring costs the worker itself, as where the
    monitor runs on other machines."""

    concurrency: int = 2
    worker_cpus: str | None = None
    other_cpus: str | None = None
    # Pinned, the monitor yields its CPU to the broker there (a broker runs on its own machine; here
    # it shares the other CPU with the monitor, whose work would otherwise slow every broker reply).
    monitor_nice: int = 0


PLACE = Placement()
PROFILE_DIR: Path | None = None  # --profile-pool


def pinned(args: list[str], cpus: str | None, nice: int = 0) -> list[str]:
    args = ["nice", "-n", str(nice), *args] if nice else args
    return ["taskset", "-c", cpus, *args] if cpus else args


def own_redis(logs: Path, cpus: str) -> tuple[Proc, str]:
    """A Redis for the bench alone, on `cpus` (the machine's may run anywhere, for anyone)."""
    port = free_port()
    args = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    server = Proc(args, dict(os.environ), logs / f"redis-{port}.log", cpus)
    wait_for(lambda: "Ready to accept connections" in server.text(), 30, "the bench's redis up")
    return server, f"redis://127.0.0.1:{port}/10"


class Proc:
    """A subprocess in its own session, its output in a log file (on `cpus` if given)."""

    def __init__(
        self, args: list[str], env: dict[str, str], log: Path, cpus: str | None = None, nice: int = 0
    ) -> None:
        self.log = log
        self._out = log.open("wb")
        self.process = subprocess.Popen(
            pinned(args, cpus, nice),
            cwd=BENCH_DIR,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 20.0) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._out.close()


def start_worker(logs: Path, env: dict[str, str]) -> tuple[Proc, str]:
    name = f"bench{uuid.uuid4().hex[:6]}@jobdeck-bench"
    worker = Proc(
        [
            *(sys.executable, "-m", "celery", "-A", "celery_throughput", "worker", "-P", "prefork"),
            *("-c", str(PLACE.concurrency), "-n", name, "-Q", QUEUE),
            *("--without-gossip", "--without-mingle", "-l", "INFO"),
        ],
        env,
        logs / f"worker-{name.split('@')[0]}.log",
        PLACE.worker_cpus,
    )
    wait_for(lambda: " ready." in worker.text(), 60, "worker ready")
    return worker, name


def start_serve(logs: Path, db: str, celery: bool) -> tuple[Proc, str]:
    port = free_port()
    args = [JOBDECK, "serve", "--db", db, "--port", str(port), "--no-scheduler"]
    if celery:
        args += ["--celery-broker", BROKER]
    serve = Proc(args, clean_env(), logs / f"serve-{port}.log", PLACE.other_cpus, PLACE.monitor_nice)
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: http_ok(base + "/api/health"), 60, "jobdeck serve up")
    return serve, base


def start_sink(logs: Path) -> tuple[Proc, str]:
    port = free_port()
    sink = Proc(
        [sys.executable, "event_sink.py", "--port", str(port)],
        clean_env(),
        logs / f"sink-{port}.log",
        PLACE.other_cpus,
        PLACE.monitor_nice,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: http_ok(base + "/api/health"), 60, "event sink up")
    return sink, base


def start_flower(logs: Path, tasks: int) -> tuple[Proc, str]:
    port = free_port()
    flower = Proc(
        [
            *(sys.executable, "-m", "celery", "-A", "celery_throughput", "flower", f"--port={port}"),
            *("--address=127.0.0.1", f"--max_tasks={tasks + 1000}"),
        ],
        clean_env(FLOWER_UNAUTHENTICATED_API="true"),
        logs / f"flower-{port}.log",
        PLACE.other_cpus,
        PLACE.monitor_nice,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: http_ok(base + "/healthcheck"), 60, "flower up")
    return flower, base


def ensure_flower() -> str:
    try:
        import flower  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "flower>=2.2,<3"], check=True)
    from importlib.metadata import version

    return version("flower")


def read_ms(url: str) -> tuple[float, float]:
    """First and median milliseconds of READS GETs of `url`."""
    import httpx2 as httpx

    times = []
    with httpx.Client(timeout=60.0) as client:
        for _ in range(READS):
            began = time.perf_counter()
            client.get(url).raise_for_status()
            times.append((time.perf_counter() - began) * 1000)
    return times[0], statistics.median(times)


def jobdeck_counts(base: str) -> dict[str, int]:
    import httpx2 as httpx

    body = httpx.get(base + "/api/v1/stats?hours=24", timeout=30.0).json()
    return {"succeeded": int(body["succeeded"]), "pending": int(body["pending"])}


def control(name: str, action: str) -> None:
    reply = getattr(app.control, action)(QUEUE, destination=[name], reply=True, timeout=10.0)
    if not reply:
        raise RuntimeError(f"{action}: no reply from {name}")


def one(config: str, tasks: int, logs: Path, round_: int = 1, timing: bool = True) -> Result:
    import redis

    result = Result(config, tasks, round=round_)
    broker = redis.Redis.from_url(BROKER)
    broker.flushdb()
    monitor: Proc | None = None
    base = ""
    worker_env = clean_env()
    producer_env = clean_env()
    if PROFILE_DIR is not None:
        (PROFILE_DIR / f"{config}-{round_}").mkdir(parents=True, exist_ok=True)
        worker_env["BENCH_PROFILE_DIR"] = str(PROFILE_DIR / f"{config}-{round_}")
    if config in ("events", "instrumented"):
        db = f"sqlite:///{logs}/{config}-{round_}.db"
        monitor, base = start_serve(logs, db, celery=config == "events")
    elif config == "sink":
        monitor, base = start_sink(logs)
    if config in ("instrumented", "sink"):
        sdk = {"BENCH_INSTRUMENT": "1", "JOBDECK_URL": base, "BENCH_SDK_TIMING": "1" if timing else "0"}
        worker_env.update(sdk)
        producer_env.update(sdk)
    elif config == "flower":
        monitor, base = start_flower(logs, tasks)
    worker, name = start_worker(logs, worker_env)
    try:
        if config in ("events", "flower"):
            wait_for(lambda: "enabled by remote" in worker.text(), 60, "events enabled")
        control(name, "cancel_consumer")
        if monitor is not None:
            time.sleep(2.0)
            result.rss_idle_mb = rss_mb(monitor.pid)
        began = time.monotonic()
        subprocess.run(
            pinned([sys.executable, str(Path(__file__).resolve()), "produce", str(tasks)], PLACE.other_cpus),
            cwd=BENCH_DIR,
            env=producer_env,
            check=True,
        )
        result.send_s = time.monotonic() - began
        if config in ("instrumented", "sink"):
            # The published tasks are pending runs in jobdeck before the worker takes any.
            waited = wait_for(lambda: jobdeck_counts(base)["pending"] >= tasks, 600, "pending runs", 0.5)
            result.notes.append(f"{tasks} pending runs recorded {waited:.1f} s after the producer ended")
        worker_cpu = cpu_s(worker.pid)
        main_cpu = cpu_s(worker.pid, descendants=False)
        monitor_cpu = cpu_s(monitor.pid) if monitor is not None else 0.0
        began = time.monotonic()
        control(name, "add_consumer")
        done = 0
        while done < tasks:
            time.sleep(0.02)
            done = int(broker.get(COUNTER) or 0)
            if monitor is not None and result.rss_20_mb is None and done >= tasks // 5:
                result.rss_20_mb = rss_mb(monitor.pid)
            if worker.process.poll() is not None:
                raise RuntimeError(f"worker exited: {worker.text()[-2000:]}")
        finished = time.monotonic()
        result.run_s = finished - began
        result.tasks_per_s = tasks / result.run_s
        result.worker_cpu_ms_per_task = (cpu_s(worker.pid) - worker_cpu) * 1000 / tasks
        result.worker_main_cpu_ms_per_task = (cpu_s(worker.pid, descendants=False) - main_cpu) * 1000 / tasks
        if monitor is not None:
            result.rss_100_mb = rss_mb(monitor.pid)
        if config in ("events", "instrumented", "sink"):
            counts: dict[str, int] = {}

            def all_recorded() -> bool:
                counts.update(jobdeck_counts(base))
                return counts["succeeded"] >= tasks

            try:
                wait_for(all_recorded, 600, "all runs recorded", 0.25)
                result.lag_s = time.monotonic() - finished
            except TimeoutError:
                result.notes.append("not all runs recorded after 600 s")
            result.recorded = counts.get("succeeded")
            result.rss_recorded_mb = rss_mb(monitor.pid)  # type: ignore[union-attr]
            result.read_first_ms, result.read_ms = read_ms(base + "/api/v1/runs?limit=100")
        elif config == "flower":
            time.sleep(5.0)  # let Flower take in the last events
            result.rss_recorded_mb = rss_mb(monitor.pid)  # type: ignore[union-attr]
            result.read_first_ms, result.read_ms = read_ms(base + "/api/tasks?limit=100")
        if monitor is not None:
            result.rss_peak_mb = rss_mb(monitor.pid, "VmHWM")
            # Until all were recorded (and the 21 reads: a few ms each).
            result.monitor_cpu_ms_per_task = (cpu_s(monitor.pid) - monitor_cpu) * 1000 / tasks
    finally:
        worker.stop()
        if monitor is not None:
            monitor.stop()
    if config in ("instrumented", "sink"):
        sdk_cpu(result, worker.text())
    return result


def sdk_cpu(result: Result, log: str) -> None:
    """The SDK's CPU in the worker's pool processes, from their last lines (`measure_sdk`)."""
    import re

    found = re.findall(SDK_CPU + r" handlers=(\S+) sender=(\S+) tasks=(\d+)", log)
    tasks = sum(int(t) for _, _, t in found)
    if tasks:
        result.sdk_handlers_us_per_task = sum(float(h) for h, _, _ in found) * 1e6 / tasks
        result.sdk_sender_us_per_task = sum(float(s) for _, s, _ in found) * 1e6 / tasks
        result.notes.append(
            f"the SDK in the worker's pool processes: {result.sdk_handlers_us_per_task:.1f} µs a task in"
            f" the signal handlers, {result.sdk_sender_us_per_task:.1f} µs in the sender thread"
        )


def produce(tasks: int) -> None:
    """Send `tasks` tasks as fast as one process can, on one producer connection."""
    with app.producer_or_acquire() as producer:
        for i in range(tasks):
            add.apply_async((i, i), producer=producer)
    if os.environ.get("BENCH_INSTRUMENT") == "1":
        from jobdeck.sdk import client

        client.flush(120.0)


def big_store(url: str, logs: Path) -> dict[str, Any]:
    """`GET /api/v1/runs?limit=100` on an existing store (serve with --no-scheduler; nothing written)."""
    serve, base = start_serve(logs, url, celery=False)
    try:
        first, median = read_ms(base + "/api/v1/runs?limit=100")
        return {"store": url, "read_first_ms": round(first, 1), "read_ms": round(median, 1)}
    finally:
        serve.stop()


def place(pin: bool, logs: Path) -> Proc | None:
    """Set PLACE (and, pinned, start the bench's own Redis and point everything at it)."""
    global BROKER
    if not pin:
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise SystemExit("--pin needs two CPUs")
    PLACE.concurrency = 1
    PLACE.worker_cpus = str(cpus[-1])
    PLACE.other_cpus = ",".join(str(c) for c in cpus[:-1])
    PLACE.monitor_nice = 19
    server, BROKER = own_redis(logs, PLACE.other_cpus)
    app.conf.broker_url = BROKER
    return server


def medians(results: list[Result]) -> dict[str, dict[str, Any]]:
    """Per configuration over the rounds: the median ratio to the same round's `none`, and the
    median worker CPU a task above that round's `none`."""
    out: dict[str, dict[str, Any]] = {}
    for config in dict.fromkeys(r.config for r in results):
        mine = [r for r in results if r.config == config]
        ratios = [r.vs_none for r in mine if r.vs_none is not None]
        extra = [
            (r.worker_cpu_ms_per_task - b.worker_cpu_ms_per_task) * 1000
            for r in mine
            for b in results
            if b.config == "none" and b.round == r.round
        ]
        out[config] = {
            "rounds": len(mine),
            "tasks_per_s": round(statistics.median(r.tasks_per_s for r in mine)),
            "vs_none": round(statistics.median(ratios), 3) if ratios else None,
            "vs_none_each": [round(x, 3) for x in ratios],
            "worker_cpu_us_per_task": round(statistics.median(r.worker_cpu_ms_per_task for r in mine) * 1000),
            "worker_cpu_us_above_none": round(statistics.median(extra)) if extra else None,
            "worker_main_cpu_us_per_task": round(
                statistics.median(r.worker_main_cpu_ms_per_task for r in mine) * 1000
            ),
        }
    return out


def fmt(value: float | None, spec: str = ".0f") -> str:
    return "—" if value is None else format(value, spec)


def table(results: list[Result]) -> str:
    head = (
        "| config | tasks/s | vs none | worker CPU/task | monitor CPU/task | RSS idle | RSS 20 % | RSS 100 %"
        " | RSS recorded | peak | recorded | lag | list read (median, first) |"
    )
    lines = [head, "|" + "---|" * 13]
    for r in results:
        lines.append(
            f"| {r.config} #{r.round} | {r.tasks_per_s:,.0f} | {fmt(r.vs_none, '.3f')}"
            f" | {r.worker_cpu_ms_per_task:.2f} ms | {fmt(r.monitor_cpu_ms_per_task, '.2f')} ms"
            f" | {fmt(r.rss_idle_mb)} MB"
            f" | {fmt(r.rss_20_mb)} MB | {fmt(r.rss_100_mb)} MB | {fmt(r.rss_recorded_mb)} MB"
            f" | {fmt(r.rss_peak_mb)} MB | {'—' if r.recorded is None else f'{r.recorded:,}'}"
            f" | {fmt(r.lag_s, '.1f')} s | {fmt(r.read_ms, '.1f')} ms, {fmt(r.read_first_ms, '.1f')} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "produce":
        produce(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks a configuration (0: none)")
    parser.add_argument("--only", action="append", choices=CHOICES, help="run only these (repeatable)")
    parser.add_argument("--skip", action="append", choices=CHOICES, default=[], help="leave these out")
    parser.add_argument("--big-store", help="also read /api/v1/runs?limit=100 on this existing store")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--rounds", type=int, default=1, help="run the configurations this many times, interleaved"
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the worker (1 pool process) on a CPU of its own; the rest and a Redis of its own on the other",
    )
    parser.add_argument(
        "--no-sdk-timing",
        action="store_true",
        help="instrumented: no timing around the SDK's handlers (their CPU is then not reported)",
    )
    parser.add_argument(
        "--profile-pool", type=Path, help="cProfile each pool process; stats under this folder by config"
    )
    args = parser.parse_args()
    global PROFILE_DIR
    PROFILE_DIR = args.profile_pool.resolve() if args.profile_pool else None

    sys.path.insert(0, str(BENCH_DIR))
    import machine

    configs = [c for c in (args.only or CONFIGS) if c not in args.skip] if args.tasks > 0 else []
    flower_version = ensure_flower() if "flower" in configs else None
    logs = Path(tempfile.mkdtemp(prefix="celery-bench-"))
    began = time.time()
    load_before = os.getloadavg()
    speed = machine.speed_ms()
    redis_server = place(args.pin, logs)
    results: list[Result] = []
    try:
        for round_ in range(1, args.rounds + 1):
            for config in configs:
                print(f"{config} (round {round_}): {args.tasks:,} tasks …", file=sys.stderr, flush=True)
                results.append(one(config, args.tasks, logs, round_, timing=not args.no_sdk_timing))
                print(f"  {results[-1]}", file=sys.stderr, flush=True)
    finally:
        if redis_server is not None:
            redis_server.stop()
    for r in results:
        baseline = next((b for b in results if b.config == "none" and b.round == r.round), None)
        if baseline is not None:
            r.vs_none = r.tasks_per_s / baseline.tasks_per_s
    big = big_store(args.big_store, logs) if args.big_store else None
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(began)),
        "tasks": args.tasks,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "speed_index_ms": round(speed),
        "flower": flower_version,
        "elapsed_s": round(time.time() - began),
        "pin": args.pin,
        "placement": asdict(PLACE),
        "results": [asdict(r) for r in results],
        "medians": medians(results),
        "big_store": big,
        "logs": str(logs),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"{report['date']}, {args.tasks:,} tasks a configuration, speed index {report['speed_index_ms']} ms,"
        f" load average {report['load_before']} before, {report['load_after']} after"
    )
    print(f"placement: {PLACE}")
    print(table(results))
    for r in results:
        for note in r.notes:
            print(f"{r.config} (round {r.round}): {note}")
    for config, figures in medians(results).items():
        print(f"{config}, median of {figures['rounds']} rounds: {figures}")
    if big:
        print(
            f"{big['store']}: GET /api/v1/runs?limit=100 {big['read_ms']} ms median"
            f" ({big['read_first_ms']} ms first)"
        )


if __name__ == "__main__":
    main()
