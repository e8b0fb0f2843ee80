"""Background services: what a server starts when it begins serving and stops when it ends.

A service has a name, an async `start` and an async `stop`; a loop is a service that also has
`run_once()`, one step that returns what it did (tests call it directly). `Services` holds an app's
services in start order, and its `running()` is the app's one lifespan: it starts them in that order
in one `AsyncExitStack` and stops them in reverse. When a service fails to start, the ones already
started are stopped (in reverse) and the error goes on, so the server does not start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)


@runtime_checkable
class Service(Protocol):
    """Something a server runs for as long as it serves."""

    name: str

    async def start(self) -> None:
        """Begin the work (return once it runs; long work goes to a thread or a task)."""

    async def stop(self) -> None:
        """End the work and wait for it to end."""


@runtime_checkable
class Loop(Service, Protocol):
    """A service that repeats one step: the scheduler, the alert evaluator, probes, sweepers."""

    def run_once(self) -> object:
        """Do one step now; returns what it did (empty or None when there was nothing to do)."""


class OnStop:
    """A service with nothing to start that must be told when the server stops (the control plane:
    the commands it still runs are stopped and recorded)."""

    def __init__(self, name: str, stop: Callable[[], object]) -> None:
        self.name = name
        self._stop = stop

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        await asyncio.to_thread(self._stop)  # it may wait for processes to end


class Services:
    """An app's background services in the order they start; they stop in reverse."""

    def __init__(self, *services: Service) -> None:
        self._services = list(services)
        self._running = False

    def add(self, service: Service) -> None:
        """Start `service` after those already added (and stop it before them)."""
        if self._running:
            raise RuntimeError(f"cannot add {service.name!r}: the services are already running")
        self._services.append(service)

    def __iter__(self) -> Iterator[Service]:
        return iter(self._services)

    @property
    def names(self) -> list[str]:
        return [service.name for service in self._services]

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Start every service in order for the block, then stop them in reverse (also when a start
        fails: those started are stopped and the start's error is raised)."""
        self._running = True
        try:
            async with AsyncExitStack() as stack:
                for service in self._services:
                    await service.start()
                    log.info("started %s", service.name)
                    stack.push_async_callback(_stop, service)
                yield
        finally:
            self._running = False


async def _stop(service: Service) -> None:
    await service.stop()
    log.info("stopped %s", service.name)
