"""Services: started in order in one exit stack, stopped in reverse, also after a failed start."""

from __future__ import annotations

import asyncio
import threading

import pytest

from jobdeck.background.periodic import Periodic
from jobdeck.services import Loop, OnStop, Service, Services


class Recorded:
    """A service that writes its starts and stops to a shared list; it can fail either."""

    def __init__(
        self, name: str, calls: list[str], fail_start: bool = False, fail_stop: bool = False
    ) -> None:
        self.name, self.calls = name, calls
        self.fail_start, self.fail_stop = fail_start, fail_stop

    async def start(self) -> None:
        if self.fail_start:
            raise RuntimeError(f"{self.name} cannot start")
        self.calls.append(f"start {self.name}")

    async def stop(self) -> None:
        self.calls.append(f"stop {self.name}")
        if self.fail_stop:
            raise RuntimeError(f"{self.name} cannot stop")


async def run(services: Services, calls: list[str]) -> None:
    async with services.running():
        calls.append("serving")


def test_services_start_in_order_and_stop_in_reverse() -> None:
    calls: list[str] = []
    services = Services(Recorded("a", calls), Recorded("b", calls))
    services.add(Recorded("c", calls))
    asyncio.run(run(services, calls))
    assert calls == ["start a", "start b", "start c", "serving", "stop c", "stop b", "stop a"]


def test_a_failed_start_stops_those_started_and_raises() -> None:
    calls: list[str] = []
    services = Services(Recorded("a", calls), Recorded("b", calls), Recorded("c", calls, fail_start=True))
    services.add(Recorded("d", calls))
    with pytest.raises(RuntimeError, match="c cannot start"):
        asyncio.run(run(services, calls))
    assert calls == ["start a", "start b", "stop b", "stop a"]


def test_a_failed_stop_still_stops_the_others() -> None:
    calls: list[str] = []
    services = Services(Recorded("a", calls), Recorded("b", calls, fail_stop=True), Recorded("c", calls))
    with pytest.raises(RuntimeError, match="b cannot stop"):
        asyncio.run(run(services, calls))
    assert calls == ["start a", "start b", "start c", "serving", "stop c", "stop b", "stop a"]


def test_no_service_joins_once_they_run() -> None:
    calls: list[str] = []
    services = Services(Recorded("a", calls))

    async def add_while_running() -> None:
        async with services.running():
            services.add(Recorded("late", calls))

    with pytest.raises(RuntimeError, match="already running"):
        asyncio.run(add_while_running())
    assert calls == ["start a", "stop a"]


def test_a_periodic_loop_is_a_loop_service_that_can_run_again() -> None:
    steps: list[int] = []
    stepped = threading.Event()

    def step() -> None:
        steps.append(len(steps))
        stepped.set()

    loop = Periodic("counting", step, every_s=3600)
    assert isinstance(loop, Loop)
    assert isinstance(OnStop("x", lambda: None), Service)
    assert loop.run_once() is None
    assert steps == [0]

    async def serve_twice() -> None:
        for _ in range(2):
            stepped.clear()
            await loop.start()
            assert await asyncio.to_thread(stepped.wait, 5), "a started loop takes its first step at once"
            await loop.stop()
            assert not loop._thread.is_alive()

    asyncio.run(serve_twice())
    assert steps == [0, 1, 2]  # the step above and one as each start began
