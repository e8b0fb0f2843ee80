"""Screenshots of every page, light and dark, desktop (1440 px) and phone (390 px): `make screenshots`.

Serves a known data set (the browser tests' one, plus two real local commands: one running, one
failed, so the Stop and Retry buttons show) on a free port, and an empty store for the empty states,
opens each page in Chromium, writes screenshots/<page>-<scheme>-<size>.png, and fails when a
page scrolls sideways, hides part of a table off to the side, or logs a JS error.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, filled_store, serve  # noqa: E402
from tests.browser.test_overview_windows import month_events  # noqa: E402
from tests.run_data import NOW  # noqa: E402

from jobdeck.alerts.delivery import Sender  # noqa: E402
from jobdeck.alerts.evaluator import Evaluator  # noqa: E402
from jobdeck.config import Settings  # noqa: E402
from jobdeck.executors import Submission  # noqa: E402
from jobdeck.store import Store, alerts, channels  # noqa: E402
from jobdeck.store.runs import get_run  # noqa: E402

PAGES = {
    "overview": "/",
    "overview-30d": "/?hours=720",
    "overview-simple": "/?view=simple",
    "job": "/jobs/reputation_tasks",
    "runs": "/runs",
    "runs-failed": "/runs?status=failed",
    "failures": "/failures",
    "run-detail": "/runs/rep-5",
    "run-detail-local-running": "/runs/local-running",
    "run-detail-local-failed": "/runs/local-failed",
    "control": "/control",
    "schedules": "/schedules",
    "schedule-new": "/schedules/new",
    "docs": "/docs",
    "error-422": "/runs?status=bogus",
    "error-404": "/jobs/nonexistent",
    "alerts": "/alerts",
    "alert-rules": "/alerts/rules",
    "channels": "/alerts/channels",
}
# Pages answered with an error status on purpose: the browser's report of that status is expected.
EXPECTED_STATUS_ERRORS = {"error-422": "status of 422", "error-404": "status of 404"}
# Schedules for the Schedules pages: two hourly ones at the same minute (a predicted overlap and a
# suggested stagger), a paused one, and one that follows another job.
SCHEDULES = [
    {
        "name": "clip sync",
        "job": "clip_sync",
        "kind": "cron",
        "cron": "0 * * * *",
        "target": {"type": "command", "command": ["true"]},
    },
    {
        "name": "hot scores",
        "job": "hot_score_refresh",
        "kind": "cron",
        "cron": "0 * * * *",
        "overlap": "skip",
        "target": {"type": "http", "url": "https://example.com/hooks/hot"},
    },
    {
        "name": "nightly export",
        "job": "report_export",
        "kind": "cron",
        "cron": "30 2 * * 1-5",
        "timezone": "Europe/Berlin",
        "paused": True,
        "target": {"type": "command", "command": ["true"]},
    },
    {
        "name": "webhook retry",
        "job": "webhook_retry",
        "kind": "interval",
        "every_s": 900,
        "target": {"type": "python", "callable": "json:dumps", "args": [[1]]},
    },
    {
        "name": "after sync",
        "job": "sync_report",
        "after": "clip_sync",
        "target": {"type": "command", "command": ["true"]},
    },
]
# Real commands for the local executor to run: what the action buttons act on.
LOCAL_RUNS = {
    "local-running": [sys.executable, "-c", "import time; time.sleep(600)"],
    "local-failed": [sys.executable, "-c", "raise SystemExit('export failed: warehouse said 503')"],
}
# An empty store: what a first visit shows (each page says what to do).
EMPTY_PAGES = {
    "empty-overview": "/",
    "empty-runs": "/runs?status=failed",
    "empty-failures": "/failures",
    "empty-control": "/control",
    "empty-alerts": "/alerts",
    "empty-channels": "/alerts/channels",
    "empty-queues": "/queues",
}
# Thirty days with a busy job (11,000 runs): the overview over long and past windows.
_PAST = f"from={(NOW - timedelta(days=10)):%Y-%m-%dT%H:%MZ}&to={(NOW - timedelta(days=9)):%Y-%m-%dT%H:%MZ}"
MONTH_PAGES = {
    "month-overview-24h": "/?refresh=0",
    "month-overview-30d": "/?hours=720&refresh=0",
    "month-overview-past": f"/?{_PAST}&refresh=0",
}
# Tables whose wrapper scrolls sideways: columns the reader cannot see without knowing to swipe.
HIDDEN_TABLES = (
    "Array.from(document.querySelectorAll('.jd-table-wrap'))"
    ".filter(w => w.scrollWidth > w.clientWidth + 1).map(w => w.querySelector('table').id || 'a table')"
)
SIZES = {"desktop": (1440, 900), "phone": (390, 844)}


def start_local_runs(server: LiveServer) -> None:
    """Start LOCAL_RUNS through the server's local executor; return once each is recorded."""
    executor = server.app.state.control.executors["local"]
    for (run_id, command), job in zip(LOCAL_RUNS.items(), ("report_export", "invoice_export"), strict=True):
        executor.submit(Submission(job=job, args=command, run_id=run_id, queue="local"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with server.store.read() as conn:
            runs = [get_run(conn, run_id) for run_id in LOCAL_RUNS]
        if [run and run["status"] for run in runs] == ["running", "failed"]:
            return
        time.sleep(0.1)
    raise RuntimeError(f"the local runs did not start: {runs}")


def add_schedules(server: LiveServer) -> list[tuple[str, str]]:
    """Create SCHEDULES in the server's store and fire the first twice; the detail and edit pages
    of the first, to photograph."""
    from jobdeck.scheduler import book
    from jobdeck.scheduler.spec import ScheduleSpec

    ids = [book.create(server.store, ScheduleSpec.model_validate(body))["id"] for body in SCHEDULES]
    for _ in range(2):
        server.app.state.scheduler.fire_now(ids[0])
    time.sleep(1)  # the commands end
    return [("schedule-detail", f"/schedules/{ids[0]}"), ("schedule-edit", f"/schedules/{ids[0]}/edit")]


def seed_alerts(store: Store) -> None:
    """Channels (one that cannot be reached, so a failed delivery shows), a silence, and one
    evaluation of the rules over the known data set."""
    now = datetime.now(UTC)
    with store.write() as conn:
        channels.add_channel(
            conn, "slack", "ops-slack", "https://hooks.slack.com/services/T000/B000/XXXX", now
        )
        channels.add_channel(conn, "webhook", "pager-bridge", "http://127.0.0.1:9/alerts", now)
        channels.add_channel(conn, "email", "on-call", "oncall@example.com", now)
        alerts.add_silence(
            conn,
            {
                "job": "clip_sync",
                "starts_at": now,
                "ends_at": now + timedelta(hours=4),
                "comment": "Twitch API maintenance",
                "created_at": now,
            },
        )
        alerts.set_threshold(conn, "BackgroundJobNotRunning", "reputation_tasks", 8 * 3600, None, True)
    Evaluator(store, every_s=1).run_once(now)
    with store.write() as conn:
        for row in channels.deliveries(conn):
            if row["channel_id"] != 2:
                channels.sent(conn, row["id"], now)
    Sender(store, Settings(database_url=store.url)).run_once(now)


def main(out: Path = ROOT / "screenshots", only: tuple[str, ...] = ()) -> int:
    out.mkdir(exist_ok=True)
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        # The local executor's key (it seals the commands it starts) stays in the temporary directory.
        os.environ["JOBDECK_CONTROL_KEY_FILE"] = str(Path(tmp) / "control.key")
        (Path(tmp) / "filled").mkdir()
        (Path(tmp) / "empty").mkdir()
        (Path(tmp) / "month").mkdir()
        store = filled_store(Path(tmp) / "filled")
        empty = filled_store(Path(tmp) / "empty", events=[])
        month = filled_store(Path(tmp) / "month", events=month_events())
        with (
            serve(store) as server,
            serve(empty) as bare,
            serve(month) as monthly,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            start_local_runs(server)
            seed_alerts(store)
            shots = [(name, server.path(path)) for name, path in PAGES.items()]
            shots += [(name, server.path(path)) for name, path in add_schedules(server)]
            shots += [(name, bare.path(path)) for name, path in EMPTY_PAGES.items()]
            shots += [(name, monthly.path(path)) for name, path in MONTH_PAGES.items()]
            if only:  # e.g. `python scripts/screenshots.py schedule`: the pages whose names start so
                shots = [(name, url) for name, url in shots if name.startswith(only)]
            for scheme in ("light", "dark"):
                for size, (width, height) in SIZES.items():
                    context = browser.new_context(
                        viewport={"width": width, "height": height}, color_scheme=scheme
                    )
                    page = context.new_page()
                    errors: list[str] = []
                    page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
                    page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
                    for name, url in shots:
                        errors.clear()
                        page.goto(url)
                        page.wait_for_load_state("networkidle")
                        page.wait_for_timeout(400)  # charts draw after their data arrives
                        target = out / f"{name}-{scheme}-{size}.png"
                        page.screenshot(path=target, full_page=True)
                        expected = EXPECTED_STATUS_ERRORS.get(name)
                        found = [
                            f"{target.name}: {error}"
                            for error in errors
                            if not (expected and expected in error)
                        ]
                        scroll = page.evaluate("document.documentElement.scrollWidth")
                        if scroll > width:
                            found.append(f"{target.name}: scrolls sideways ({scroll} px > {width} px)")
                        hidden = page.evaluate(HIDDEN_TABLES)
                        found += [f"{target.name}: {table} scrolls sideways" for table in hidden]
                        problems += found
                        print(f"{target.relative_to(ROOT)}  {'!' if found else 'ok'}")  # noqa: T201
                    context.close()
            browser.close()
        store.close()
        empty.close()
        month.close()
    for problem in problems:
        print("problem:", problem)  # noqa: T201
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(only=tuple(sys.argv[1:])))
