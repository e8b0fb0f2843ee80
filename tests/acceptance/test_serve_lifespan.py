"""`jobdeck serve` in a subprocess, its log at INFO: Ctrl-C stops every background service once, in
reverse of the order they started in."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

# The console script's own entry point, with the log shown (serve itself shows warnings only).
SERVE = (
    "import logging, sys; "
    "logging.basicConfig(level=logging.INFO, format='%(name)s: %(message)s', stream=sys.stderr); "
    "from jobdeck.cli import app; "
    "app(prog_name='jobdeck')"
)
# The scheduler starts last and stops first, so nothing new starts while the rest stops.
STATED_ORDER = [
    "wal checkpoint",
    "retention cleanup",
    "live updates",
    "alert evaluation",
    "alert delivery",
    "control plane",
    "queue sampler",
    "scheduler",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_starts_its_services_in_order_and_stops_them_in_reverse(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("JOBDECK_") or k == "JOBDECK_CONTROL_KEY_FILE"
    }
    env["JOBDECK_RETENTION_DAYS"] = "30"
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    args = [sys.executable, "-c", SERVE, "serve", "--db", db, "--port", str(port)]
    proc = subprocess.Popen(
        args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "jobdeck serve did not answer within 60 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    lines = [
        line.removeprefix("jobdeck.services: ")
        for line in err.splitlines()
        if line.startswith("jobdeck.services: ")
    ]
    assert lines == [f"started {name}" for name in STATED_ORDER] + [
        f"stopped {name}" for name in reversed(STATED_ORDER)
    ], err
    assert "Traceback" not in err
