"""The background sender: spooling while the destination is away, replay in order, refusals, shutdown."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from jobdeck.sdk.sender import BATCH_SIZE, Sender
from jobdeck.sdk.spool import Spool
from jobdeck.sdk.transport import EventDict, Rejected, ServerError, Unavailable


class Destination:
    """A transport whose destination can go away, refuse events, or hang."""

    def __init__(self) -> None:
        self.received: list[EventDict] = []
        self.down = False
        self.refused: set[str] = set()
        self.hang = threading.Event()
        self.hanging = False
        self.sends = 0

    def send(self, events: Sequence[EventDict]) -> None:
        self.sends += 1
        if self.hanging:
            self.hang.wait(10)
        if self.down:
            raise Unavailable("connection refused")
        bad = [i for i, e in enumerate(events) if e["run_id"] in self.refused]
        if bad:
            raise Rejected(f"HTTP 422: event {bad[0]}: field 'job'")
        self.received.extend(events)

    def close(self) -> None:
        pass

    def ids(self) -> list[str]:
        return [e["run_id"] for e in self.received]


def event(n: int) -> EventDict:
    return {"run_id": f"r{n}", "event": "started", "job": "j", "at": "2026-01-01T00:00:00+00:00"}


def wait_until_sending(destination: Destination) -> None:
    deadline = time.monotonic() + 5
    while destination.sends == 0 and time.monotonic() < deadline:
        time.sleep(0.005)


@pytest.fixture
def destination() -> Destination:
    return Destination()


@pytest.fixture
def sender(destination: Destination, tmp_path: Path) -> Iterator[Sender]:
    sender = Sender(destination, Spool(tmp_path / "spool", 10_000_000), flush_interval_s=0.05)
    yield sender
    destination.hang.set()
    sender.close(timeout=2)


def test_events_arrive_in_order(sender: Sender, destination: Destination) -> None:
    for n in range(1200):
        sender.put(event(n))
    assert sender.flush(5)
    assert destination.ids() == [f"r{n}" for n in range(1200)]


def test_an_unreachable_destination_spools_then_replays_before_newer_events(
    sender: Sender, destination: Destination, caplog: pytest.LogCaptureFixture
) -> None:
    destination.down = True
    for n in range(3):
        sender.put(event(n))
    started = time.monotonic()
    assert not sender.flush(5)
    assert time.monotonic() - started < 1
    assert sender.spool.files()
    assert destination.received == []
    assert "unavailable" in caplog.text

    sender.put(event(3))  # during the back-off: straight to the spool, no attempt
    sends = destination.sends
    time.sleep(0.15)
    assert destination.sends == sends

    destination.down = False
    sender.put(event(4))
    assert sender.flush(5)
    assert destination.ids() == ["r0", "r1", "r2", "r3", "r4"]
    assert sender.spool.files() == []


def test_a_refused_event_is_set_aside_alone_with_a_warning(
    sender: Sender, destination: Destination, caplog: pytest.LogCaptureFixture
) -> None:
    destination.refused = {"r1"}
    with caplog.at_level(logging.WARNING, "jobdeck.sdk"):
        for n in range(3):
            sender.put(event(n))
        assert sender.flush(5)
    assert destination.ids() == ["r0", "r2"]
    assert "set aside 1 event(s), the first a started event of run 'r1'" in caplog.text
    (aside,) = sender.spool.rejected()
    assert [e["run_id"] for e in sender.spool.read(aside)] == ["r1"]
    assert sender.set_aside_count == 1


def test_the_event_a_refusal_names_is_set_aside_without_sending_each_event_alone(
    destination: Destination, tmp_path: Path
) -> None:
    destination.refused = {"r0"}  # the destination names the index of the event it refuses
    sender = Sender(destination, Spool(tmp_path / "spool", 10_000_000), flush_interval_s=0.05)
    try:
        for n in range(200):
            sender.put(event(n))
        assert sender.flush(5)
    finally:
        sender.close(1)
    assert destination.ids() == [f"r{n}" for n in range(1, 200)]
    assert destination.sends == 2
    assert sender.set_aside_count == 1


def test_what_an_earlier_process_spooled_is_sent_first(destination: Destination, tmp_path: Path) -> None:
    Spool(tmp_path / "spool", 10_000_000).append([event(0), event(1)])
    sender = Sender(destination, Spool(tmp_path / "spool", 10_000_000), flush_interval_s=0.05)
    try:
        sender.put(event(2))
        assert sender.flush(5)
    finally:
        sender.close(1)
    assert destination.ids() == ["r0", "r1", "r2"]


def test_close_waits_a_bounded_time_and_spools_what_is_undelivered(
    destination: Destination, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool", 10_000_000)
    sender = Sender(destination, spool, flush_interval_s=0.01)
    destination.hanging = True
    sender.put(event(0))
    wait_until_sending(destination)  # the thread is now stuck sending r0
    sender.put(event(1))
    started = time.monotonic()
    sender.close(timeout=0.3)
    assert time.monotonic() - started < 1
    destination.hang.set()
    spooled = [e["run_id"] for f in spool.files() for e in spool.read(f)]
    assert sorted(spooled) == ["r0", "r1"]
    sender.put(event(2))  # after close: spooled, not lost, and no new thread
    assert len(spool.files()) == 2


def test_a_full_queue_spills_its_oldest_batch_to_the_spool(destination: Destination, tmp_path: Path) -> None:
    destination.hanging = True
    sender = Sender(destination, Spool(tmp_path / "spool", 10_000_000), queue_max=BATCH_SIZE)
    try:
        sender.put(event(-1))
        wait_until_sending(destination)
        for n in range(BATCH_SIZE + 10):
            sender.put(event(n))
        assert len(sender.spool.files()) == 1
    finally:
        destination.hang.set()
        destination.hanging = False
    assert sender.flush(5)
    sender.close(1)
    assert sorted(destination.ids()) == sorted(f"r{n}" for n in range(-1, BATCH_SIZE + 10))


def test_a_transport_bug_is_treated_as_unavailable(destination: Destination, tmp_path: Path) -> None:
    class Broken(Destination):
        def send(self, events: Sequence[EventDict]) -> None:
            raise KeyError("surprise")

    sender = Sender(Broken(), Spool(tmp_path / "spool", 10_000_000))
    sender.put(event(0))
    assert not sender.flush(5)
    sender.close(1)
    assert len(sender.spool.files()) == 1


class FailingServer(Destination):
    """A server that answers 500 to batches holding certain events, and says whether it is healthy."""

    def __init__(self) -> None:
        super().__init__()
        self.trips: set[str] = set()
        self.is_healthy = True
        self.health_checks = 0

    def send(self, events: Sequence[EventDict]) -> None:
        self.sends += 1
        if any(e["run_id"] in self.trips for e in events):
            raise ServerError("HTTP 500 from the server: Internal Server Error")
        self.received.extend(events)

    def healthy(self) -> bool:
        self.health_checks += 1
        return self.is_healthy


def test_a_batch_a_healthy_server_fails_on_is_held_retried_and_split_until_one_event_is_set_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = FailingServer()
    server.trips = {"r7"}
    spool = Spool(tmp_path / "spool", 10_000_000)
    spool.append([event(n) for n in range(5, 10)])  # an earlier process spooled the bad one
    sender = Sender(server, spool, flush_interval_s=0.05)
    try:
        with caplog.at_level(logging.WARNING, "jobdeck.sdk"):
            for n in range(10, 20):
                sender.put(event(n))
            assert sender.flush(5)  # nothing waits behind the held batch
            assert server.ids()[-10:] == [f"r{n}" for n in range(10, 20)]
            assert spool.held() != []
            for _ in range(20):  # each flush tries the held batches at once (else: after their back-off)
                if not spool.held():
                    break
                sender.flush(5)
    finally:
        sender.close(1)
    assert sorted(server.ids()) == sorted(f"r{n}" for n in range(5, 20) if n != 7)
    (aside,) = spool.rejected()
    assert [e["run_id"] for e in spool.read(aside)] == ["r7"]
    assert spool.files() == []
    assert spool.held() == []
    assert "held in" in caplog.text
    assert "set aside 1 event(s), the first a started event of run 'r7'" in caplog.text


def test_server_errors_while_it_is_unhealthy_keep_every_event_for_later(tmp_path: Path) -> None:
    server = FailingServer()
    server.trips = {f"r{n}" for n in range(4)}
    server.is_healthy = False
    sender = Sender(server, Spool(tmp_path / "spool", 10_000_000), flush_interval_s=0.05)
    try:
        for n in range(4):
            sender.put(event(n))
        assert not sender.flush(5)
        assert sender.spool.held() == []
        spooled = [e["run_id"] for f in sender.spool.files() for e in sender.spool.read(f)]
        assert sorted(spooled) == ["r0", "r1", "r2", "r3"]
        assert server.health_checks == 1  # one look, not one per event
    finally:
        sender.close(1)
