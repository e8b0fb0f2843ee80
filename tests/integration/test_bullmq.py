"""BullMQ queues filled by the real library (npm's bullmq, run with the machine's node, tests/bullmq/) in
Redis db 7: jobdeck's counts, paused state, job schedulers and failed jobs equal what BullMQ reports;
its jobs become runs; retry and remove leave the queue as BullMQ then reports it; a Redis that is gone
is reported unreachable and the source resumes by itself."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from jobdeck.config import Settings
from jobdeck.integrations.bullmq.runs import BullMQRuns
from jobdeck.integrations.bullmq.source import BullMQSource
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.store.runs import get_run
from jobdeck.web.app import create_app
from tests.services import port_open, unavailable

URL = "redis://127.0.0.1:6379/7"
HERE = Path(__file__).parents[1] / "bullmq"
# The BullMQ versions tested, each installed from npm into its own tests-only folder on first use.
VERSIONS = {"6.7.6": HERE, "5.81.5": HERE / "v5"}
STATES = ["waiting", "active", "completed", "failed", "delayed", "paused", "prioritized", "waiting-children"]


def installed(where: Path) -> str:
    """The machine's node, with the BullMQ of `where` installed from npm (on first use)."""
    node = shutil.which("node")
    if node is None:
        unavailable("node", "not installed (scripts/ensure-services.sh installs nodejs)")
    assert node is not None
    if not (where / "node_modules" / "bullmq").exists():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm", "not installed")
        assert npm is not None
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=where, check=True, timeout=300)
    return node


def node_report(*args: str, where: Path = HERE) -> dict[str, Any]:
    """Run tests/bullmq/fill.mjs with the BullMQ installed in `where` (from npm, on first use)."""
    node = installed(where)
    done = subprocess.run(
        [node, str(HERE / "fill.mjs"), URL, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "BULLMQ_DIR": str(where)},
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.fixture(scope="module", params=list(VERSIONS))
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def filled(version: str) -> Iterator[dict[str, Any]]:
    if not port_open("127.0.0.1", 6379):
        unavailable("Redis", "nothing listens on 127.0.0.1:6379")
    redis.Redis.from_url(URL).flushdb()
    report = node_report(where=VERSIONS[version])
    assert report["version"] == version
    yield report
    redis.Redis.from_url(URL).flushdb()


@pytest.fixture
def source(filled: dict[str, Any]) -> Iterator[BullMQSource]:
    made = BullMQSource(URL)
    yield made
    made.close()


def test_counts_paused_and_schedulers_are_what_bullmq_reports(
    filled: dict[str, Any], source: BullMQSource
) -> None:
    found = {q.name: q for q in source.queues()}
    assert set(found) == set(filled["queues"]) == {"orders", "emails", "reports"}
    for name, theirs in filled["queues"].items():
        ours = found[name]
        assert ours.counts == theirs["counts"], name  # every state, exactly getJobCounts(...STATES)
        assert {k: v for k, v in ours.counts.items() if k in theirs["default_counts"]} == theirs[
            "default_counts"
        ]
        assert ours.paused is theirs["paused"]
        assert ours.system == "bullmq"
        assert ours.broker == "redis://127.0.0.1:6379/7"
    # The fill made every kind of job: a test that compares zeros would prove nothing.
    assert found["orders"].counts["completed"] == 3
    assert found["orders"].counts["failed"] == 3
    assert found["emails"].counts["prioritized"] == 3
    assert found["emails"].counts["delayed"] == 2
    assert found["reports"].paused is True
    schedulers = {s["key"]: s for s in found["reports"].details["schedulers"]}
    for theirs in filled["queues"]["reports"]["schedulers"]:
        ours = schedulers[theirs["key"]]
        assert ours["name"] == theirs["name"]
        assert ours["pattern"] == theirs["pattern"]
        assert ours["every_ms"] == theirs["every"]
        assert ours["next_run_ms"] == theirs["next"]  # the next run, to the millisecond
    assert schedulers["nightly"]["next_run"].endswith("T03:00:00Z")
    reasons = {f["id"]: (f["reason"], f["attempts_made"]) for f in found["orders"].details["failed_jobs"]}
    # A queue whose keys are not BullMQ's layout is left out; the others still count.
    client = redis.Redis.from_url(URL)
    client.hset("bull:broken:meta", "version", "bullmq:6.7.6")
    client.set("bull:broken:wait", "not a list")
    try:
        fresh = BullMQSource(URL)
        assert {q.name for q in fresh.queues()} == {"orders", "emails", "reports"}
        assert fresh.health().reachable is True
        fresh.close()
    finally:
        client.delete("bull:broken:meta", "bull:broken:wait")
    assert reasons == {
        f["id"]: (f["failedReason"], f["attemptsMade"]) for f in filled["queues"]["orders"]["failed"]
    }


def test_jobs_become_runs(filled: dict[str, Any], version: str, source: BullMQSource, store: Store) -> None:
    poller = BullMQRuns(source, Recorder(store).record)
    first = poller.run_once()
    assert sorted(first.backfilled) == ["emails", "orders", "reports"]
    with store.read() as conn:
        failed_id = filled["queues"]["orders"]["failed"][0]["id"]
        failed = get_run(conn, f"bullmq:orders:{failed_id}")
        assert failed is not None
        assert failed["status"] == "failed"
        assert failed["job"] == "boom"
        assert failed["source"] == "bullmq"
        assert failed["queue"] == "orders"
        assert failed["error_message"] == filled["queues"]["orders"]["failed"][0]["failedReason"]
        assert failed["error_type"] == "TypeError"
        assert "fill.mjs" in failed["traceback"]
        assert failed["attempt"] == 1
        assert failed["started_at"] is not None
        assert failed["finished_at"] is not None
        states = filled["queues"]["orders"]["states"]
        done_id = next(i for i, s in states.items() if s == "completed")
        done = get_run(conn, f"bullmq:orders:{done_id}")
        assert done is not None
        assert done["status"] == "succeeded"
        assert done["job"] == "resize"
        assert set(done["result"]) == {"resized"}
        flaky_id = next(i for i, s in states.items() if s == "delayed")
        flaky = get_run(conn, f"bullmq:orders:{flaky_id}")
        assert flaky is not None
        assert flaky["status"] == "retrying"
        assert flaky["max_retries"] == 2
        delayed = get_run(conn, "bullmq:emails:3")
        assert delayed is not None
        assert delayed["status"] == "pending"
        assert delayed["eta"] is not None
    # A second pass reads the stream from its watermark: nothing new, no backfill.
    assert not poller.run_once().backfilled
    # A job added since is read from the stream (no backfill) and becomes a run.
    node_report("--report", "--add", "emails", where=VERSIONS[version])
    third = poller.run_once()
    assert third.backfilled == []
    assert third.jobs == 1
    late = f"bullmq:emails:{int(redis.Redis.from_url(URL).get('bull:emails:id') or 0)}"  # the newest id
    with store.read() as conn:
        run = get_run(conn, late)
        assert run is not None
        assert run["job"] == "late"
    # A stream trimmed past the watermark: that queue is read whole again.
    redis.Redis.from_url(URL).xtrim("bull:emails:events", maxlen=0)
    node_report("--report", "--add", "emails", where=VERSIONS[version])
    assert poller.run_once().backfilled == ["emails"]


def test_retry_and_remove_a_failed_job_as_bullmq_does(
    filled: dict[str, Any], version: str, store: Store
) -> None:
    redis.Redis.from_url(URL).flushdb()
    filled = node_report(where=VERSIONS[version])  # afresh: this test changes the queues
    app = create_app(Settings(database_url=str(store.engine.url), bullmq=[URL]), store)
    with TestClient(app) as client:
        first, second, third = (f["id"] for f in filled["queues"]["orders"]["failed"])
        retried = client.post(f"/api/v1/queues/bullmq/orders/jobs/{first}/retry")
        assert retried.status_code == 200, retried.text
        assert "back to waiting" in retried.json()["detail"]
        again = client.post(f"/api/v1/queues/bullmq/orders/jobs/{first}/retry")
        assert again.status_code == 409
        assert "is not failed" in again.json()["detail"]
        removed = client.post(f"/api/v1/queues/bullmq/orders/jobs/{second}/remove")
        assert removed.status_code == 200, removed.text
        gone = client.post(f"/api/v1/queues/bullmq/orders/jobs/{second}/remove")
        assert gone.status_code == 404
        assert client.post("/api/v1/queues/bullmq/orders/jobs/1/requeue").status_code == 409
        assert client.post("/api/v1/queues/rq/orders/jobs/1/requeue").status_code == 404
        ours = {q["name"]: q for q in client.get("/api/v1/queues").json()["queues"]}
        theirs = node_report("--report", where=VERSIONS[version])["queues"]["orders"]
        assert ours["orders"]["counts"] == theirs["counts"]
        assert theirs["counts"]["failed"] == 1
        assert theirs["counts"]["waiting"] == 3  # the retried job waits again, as BullMQ sees it
        assert theirs["states"][first] == "waiting"
        assert second not in theirs["states"]
        job = redis.Redis.from_url(URL).hgetall(f"bull:orders:{first}")
        assert b"failedReason" not in job
        assert b"finishedOn" not in job
        assert job[b"atm"] == b"1"  # attemptsMade kept, as Job.retry() keeps it by default

        # Into a paused queue: where this BullMQ version's own retry would put it (BullMQ 5: `paused`).
        paused = node_report("--report", "--pause", "orders", where=VERSIONS[version])["queues"]["orders"]
        assert client.post(f"/api/v1/queues/bullmq/orders/jobs/{third}/retry").status_code == 200
        after = node_report("--report", where=VERSIONS[version])["queues"]["orders"]
        ours = {q["name"]: q for q in client.get("/api/v1/queues").json()["queues"]}
    assert ours["orders"]["counts"] == after["counts"]
    assert ours["orders"]["paused"] is True
    state = "paused" if version.startswith("5.") else "waiting"
    assert after["counts"][state] == paused["counts"][state] + 1
    assert after["states"][third] in ("paused", "waiting")


def test_a_poller_says_once_that_redis_is_gone_and_once_that_it_is_back(
    filled: dict[str, Any], sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    source = BullMQSource("redis://127.0.0.1:6399/7")
    poller = BullMQRuns(source, Recorder(sqlite_store).record)
    with caplog.at_level(logging.WARNING, logger="jobdeck.integrations.bullmq.runs"):
        assert poller.run_once() is None
        assert poller.run_once() is None
        source.redis = redis.Redis.from_url(URL)
        polled = poller.run_once()
    assert polled is not None
    assert sorted(polled.backfilled) == ["emails", "orders", "reports"]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "Redis unreachable (connection refused)" in lines[0]
    assert "Redis answers again" in lines[1]


def test_a_redis_that_is_gone_is_reported_and_the_source_resumes(filled: dict[str, Any]) -> None:
    down = BullMQSource("redis://127.0.0.1:6399/7")  # nothing listens there
    with pytest.raises(OSError, match="connection refused"):
        down.queues()
    health = down.health()
    assert health.reachable is False
    assert health.error == "connection refused"
    assert health.unreachable_since is not None
    # The same source object, once its Redis answers (simulated by pointing it back), works again.
    down.redis = redis.Redis.from_url(URL)
    down._health.redis = down.redis
    assert {q.name for q in down.queues()} == {"orders", "emails", "reports"}
    assert down.health().reachable is True


LEGACY = """
const { createRequire } = require("node:module");
const { Queue } = createRequire(process.argv[2] + "/package.json")("bullmq");
(async () => {
  const connection = { host: "127.0.0.1", port: 6379, db: 7, maxRetriesPerRequest: null };
  const q = new Queue("legacy", { connection, prefix: "old" });
  await q.add("tick", {}, { repeat: { pattern: "*/5 * * * *" } });
  await q.add("tock", {}, { repeat: { every: 30000 } });
  const jobs = await q.getRepeatableJobs();
  const shown = jobs.map((j) => ({
    key: j.key, name: j.name, pattern: j.pattern, every: j.every, next: j.next,
  }));
  console.log(JSON.stringify(shown));
  await q.close();
})();
"""


def test_bullmq_5_repeatable_jobs_are_listed_with_their_next_run(
    filled: dict[str, Any], tmp_path: Path
) -> None:
    """`queue.add(…, {repeat})`, BullMQ 5's older way (BullMQ 6 has only job schedulers)."""
    script = tmp_path / "legacy.cjs"
    script.write_text(LEGACY)
    node = installed(VERSIONS["5.81.5"])  # whichever version's tests ran first, BullMQ 5 is needed here
    done = subprocess.run(
        [node, str(script), str(VERSIONS["5.81.5"])], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    theirs = {j["key"]: j for j in json.loads(done.stdout)}
    source = BullMQSource(URL + "#old")
    try:
        [queue] = source.queues()
        assert source.broker == URL + "#old"
        ours = {s["key"]: s for s in queue.details["schedulers"]}
        assert set(ours) == set(theirs)
        for key, job in theirs.items():
            assert ours[key]["name"] == job["name"]
            assert ours[key]["pattern"] == job["pattern"]
            assert ours[key]["every_ms"] == (int(job["every"]) if job["every"] else None)
            assert ours[key]["next_run_ms"] == job["next"]
    finally:
        source.close()
        client = redis.Redis.from_url(URL)
        for key in client.scan_iter(match="old:*"):
            client.delete(key)
