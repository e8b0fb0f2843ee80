"""GET /api/v1/queues over every source: one that raises or hangs is reported unreachable, the others
still answer; the queue sampler stores sizes that /api/v1/timeseries?metric=queue_size serves."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from jobdeck.background.queue_samples import QueueSampler
from jobdeck.config import Settings
from jobdeck.integrations.queues import BrokerHealth, QueueSources, QueueState
from jobdeck.integrations.reading import QueueReader
from jobdeck.store import Store, queue_samples
from jobdeck.web.app import create_app


class FakeSource:
    """A queue source whose answers the test sets (a stand-in for a broker, not for our store)."""

    def __init__(self, system: str, broker: str, counts: dict[str, dict[str, int]]) -> None:
        self.system, self.broker, self.counts = system, broker, counts
        self.fail: BaseException | None = None
        self.hang = threading.Event()  # set: queues() blocks until released
        self.release = threading.Event()

    def queues(self) -> list[QueueState]:
        if self.hang.is_set():
            self.release.wait(30)
        if self.fail is not None:
            raise self.fail
        return [QueueState(name, self.system, self.broker, dict(c)) for name, c in self.counts.items()]

    def health(self) -> BrokerHealth:
        if self.fail is not None:
            return BrokerHealth(self.system, self.broker, reachable=False, error=str(self.fail))
        return BrokerHealth(self.system, self.broker, reachable=True, rtt_ms=0.25)


def _client(store: Store, *sources: FakeSource, timeout_s: float = 1.0) -> TestClient:
    app = create_app(Settings(database_url=str(store.engine.url)), store)
    for source in sources:
        app.state.queue_sources.add(source)
    app.state.queue_reader.timeout_s = timeout_s
    return TestClient(app)


def test_every_source_answers_and_a_failing_one_is_marked_unreachable_not_a_500(store: Store) -> None:
    good = FakeSource("rq", "redis://127.0.0.1:6379/8", {"default": {"waiting": 3, "started": 1}})
    bad = FakeSource("bullmq", "redis://10.255.255.1:6379/7", {})
    bad.fail = ConnectionRefusedError(111, "Connection refused")
    with _client(store, good, bad) as client:
        body = client.get("/api/v1/queues").json()
        assert body["queues"] == [
            {
                "name": "default",
                "system": "rq",
                "broker": "redis://127.0.0.1:6379/8",
                "counts": {"waiting": 3, "started": 1},
                "paused": False,
            }
        ]
        ok, down = body["brokers"]
        assert ok == {
            "system": "rq",
            "broker": "redis://127.0.0.1:6379/8",
            "reachable": True,
            "rtt_ms": 0.25,
            "unreachable_since": None,
            "error": None,
        }
        assert down["reachable"] is False
        assert down["error"] == "connection refused"
        since = down["unreachable_since"]
        time.sleep(0.01)
        again = client.get("/api/v1/queues").json()["brokers"][1]
        assert again["unreachable_since"] == since  # since the first failure, not each read
        bad.fail = None  # the broker is back: reachable again, no "since"
        back = client.get("/api/v1/queues").json()["brokers"][1]
        assert back["reachable"] is True
        assert back["unreachable_since"] is None


def test_a_hung_broker_cannot_hang_the_request(store: Store) -> None:
    good = FakeSource("rq", "redis://a", {"q": {"waiting": 1}})
    hung = FakeSource("bullmq", "redis://b", {"x": {"waiting": 2}})
    hung.hang.set()
    try:
        with _client(store, good, hung, timeout_s=0.5) as client:
            started = time.monotonic()
            body = client.get("/api/v1/queues").json()
            assert time.monotonic() - started < 3
            assert [q["name"] for q in body["queues"]] == ["q"]
            assert body["brokers"][1]["reachable"] is False
            assert body["brokers"][1]["error"] == "no answer within 0.5 s"
            # A second request starts no second read of the hung source: it waits for the first, within
            # its own limit, and answers.
            started = time.monotonic()
            assert client.get("/api/v1/queues").json()["brokers"][1]["reachable"] is False
            assert time.monotonic() - started < 2
            readers = [t for t in threading.enumerate() if t.name == "jobdeck-queues-bullmq"]
            assert len(readers) == 1
    finally:
        hung.release.set()


def test_no_sources_answers_empty(client: TestClient) -> None:
    assert client.get("/api/v1/queues").json() == {"queues": [], "brokers": []}


def test_the_sampler_stores_sizes_served_as_the_queue_size_series(store: Store) -> None:
    source = FakeSource(
        "bullmq", "redis://h/7", {"emails": {"waiting": 4, "active": 1, "completed": 50, "failed": 2}}
    )
    sources = QueueSources()
    sources.add(source)
    sampler = QueueSampler(store, sources, QueueReader())
    now = datetime.now(UTC).timestamp()
    minute = int(now) - int(now) % 60
    assert sampler.run_once(minute + 1) is not None
    source.counts["emails"]["waiting"] = 9
    sampler.run_once(minute + 6)
    source.counts["emails"]["waiting"] = 2
    sampler.run_once(minute + 11)  # the minute keeps its last size (3) and its largest (10)
    with store.read() as conn:
        step, found = queue_samples.series(conn, minute - 3600, minute + 60)
    assert step == 60
    [(key, points)] = found
    assert (key.system, key.queue) == ("bullmq", "emails")
    assert points[-1] == (minute, 10.0)
    with _client(store, source) as client:
        body = client.get("/api/v1/timeseries", params={"metric": "queue_size", "hours": 1}).json()
        [series] = body["series"]
        assert series["job"] == "emails"
        assert series["system"] == "bullmq"
        assert series["broker"] == "redis://h/7"
        assert [minute, 10] in series["points"]
        only = client.get("/api/v1/timeseries", params={"metric": "queue_size", "queue": "other", "hours": 1})
        assert only.json()["series"] == []
        sizes = {"metric": "queue_size", "job": "emails", "hours": 1}
        by_job = client.get("/api/v1/timeseries", params=sizes)
        assert [s["job"] for s in by_job.json()["series"]] == ["emails"]


def test_old_samples_are_pruned(sqlite_store: Store) -> None:
    store = sqlite_store
    source = FakeSource("rq", "redis://h/8", {"default": {"waiting": 1}})
    sources = QueueSources()
    sources.add(source)
    sampler = QueueSampler(store, sources, QueueReader(), keep_days=1)
    now = time.time()
    sampler.run_once(now - 3 * 86400)
    assert sampler.run_once(now).pruned == 1  # type: ignore[union-attr]


def test_health_lists_each_broker_and_an_unreachable_one_does_not_change_the_status(store: Store) -> None:
    good = FakeSource("rq", "redis://a/8", {})
    bad = FakeSource("bullmq", "redis://b/7", {})
    bad.fail = ConnectionRefusedError(111, "Connection refused")
    with _client(store, good, bad) as client:
        answer = client.get("/api/health")
        assert answer.status_code == 200
        body = answer.json()
        assert body["status"] == "healthy"
        assert [(b["system"], b["reachable"], b["rtt_ms"]) for b in body["brokers"]] == [
            ("rq", True, 0.25),
            ("bullmq", False, None),
        ]
        assert body["brokers"][1]["unreachable_since"] is not None
        assert body["brokers"][1]["broker"] == "redis://b/7"


def test_health_tells_a_caller_not_signed_in_whether_brokers_answer_not_where_they_are(store: Store) -> None:
    bad = FakeSource("bullmq", "redis://10.1.2.3:6379/7", {})
    bad.fail = OSError("Error 113 connecting to 10.1.2.3:6379. No route to host.")
    app = create_app(Settings(database_url=store.url, auth=True), store)
    app.state.queue_sources.add(bad)
    with TestClient(app) as client:
        body = client.get("/api/health").json()
    assert body["brokers"] == [
        {
            "system": "bullmq",
            "broker": None,
            "reachable": False,
            "rtt_ms": None,
            "unreachable_since": body["brokers"][0]["unreachable_since"],
            "error": None,
        }
    ]
    assert "10.1.2.3" not in str(body)


def test_health_without_sources_has_no_brokers_key(client: TestClient) -> None:
    assert "brokers" not in client.get("/api/health").json()


def test_health_reuses_a_recent_read_and_reads_again_when_it_is_old() -> None:
    source = FakeSource("rq", "redis://a/8", {"q": {"waiting": 1}})
    sources = QueueSources()
    sources.add(source)
    reader = QueueReader()
    first = reader.read(sources)
    source.counts["q"]["waiting"] = 5
    assert reader.recent(sources, max_age_s=60) is first
    fresh = reader.recent(sources, max_age_s=0)
    assert fresh is not first
    assert fresh.queues[0].counts == {"waiting": 5}


def test_acting_on_a_queue_job_needs_the_operator_role(store: Store) -> None:
    from tests.auth_helpers import add_token

    viewer, operator = add_token(store, "v", "viewer"), add_token(store, "o", "operator")
    app = create_app(Settings(database_url=store.url, auth=True), store)
    app.state.queue_sources.add(FakeSource("rq", "redis://h/8", {}))
    path = "/api/v1/queues/rq/default/jobs/abc/requeue"
    with TestClient(app) as client:
        assert client.get("/api/v1/queues", headers={"Authorization": f"Bearer {viewer}"}).status_code == 200
        assert client.post(path, headers={"Authorization": f"Bearer {viewer}"}).status_code == 403
        refused = client.post(path, headers={"Authorization": f"Bearer {operator}"})
        assert refused.status_code == 409  # allowed; the fake source offers no actions
        assert "offer no actions" in refused.json()["detail"]
