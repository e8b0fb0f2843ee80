"""PostgreSQL change notices: what one replica NOTIFYs another hears, and a LISTEN connection that
goes down and comes back says so in one line each way, without tracebacks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from jobdeck.store import Store, notices

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    store = Store(pg_url)
    yield store
    store.close()


def notice_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "jobdeck.store.notices" and r.levelno >= logging.INFO]


async def until(condition: Callable[[], bool], within: float = 10) -> None:
    loop = asyncio.get_running_loop()
    ends = loop.time() + within
    while not condition():
        assert loop.time() < ends, "timed out"
        await asyncio.sleep(0.02)


def listeners(store: Store) -> list[int]:
    query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'"
    with store.read() as conn:
        return [int(pid) for pid in conn.execute(text(query)).scalars()]


def terminate(store: Store, pids: list[int]) -> None:
    with store.read() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_a_lost_listen_connection_comes_back_with_one_line_each_way(
    pg_store: Store, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notices, "FIRST_RETRY_S", 0.05)
    caplog.set_level(logging.DEBUG, logger="jobdeck.store.notices")
    heard: list[dict[str, Any]] = []

    async def scenario() -> None:
        async def hear() -> None:
            async for change in notices.listen(pg_store):
                heard.append(change)

        task = asyncio.create_task(hear())
        try:
            await until(lambda: bool(listeners(pg_store)))
            notices.notify(pg_store, {"n": 1})
            await until(lambda: heard == [{"n": 1}])
            terminate(pg_store, listeners(pg_store))
            await until(lambda: any("is back" in r.getMessage() for r in notice_lines(caplog)))
            notices.notify(pg_store, {"n": 2})
            await until(lambda: heard == [{"n": 1}, {"n": 2}])
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(scenario())
    lines = notice_lines(caplog)
    assert len(lines) == 2, [r.getMessage() for r in lines]
    down, back = (r.getMessage() for r in lines)
    assert down.startswith("LISTEN on jobdeck_changes is down (")
    assert "doubling up to 30 s" in down
    assert back.startswith("LISTEN on jobdeck_changes is back after")
    assert all(r.exc_info is None for r in lines)


def test_while_the_server_is_unreachable_one_line_says_so(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notices, "FIRST_RETRY_S", 0.01)
    monkeypatch.setattr(notices, "MAX_RETRY_S", 0.02)
    caplog.set_level(logging.DEBUG, logger="jobdeck.store.notices")
    nowhere = Store("postgresql+psycopg://postgres@127.0.0.1:1/jobdeck")

    async def scenario() -> None:
        async def hear() -> None:
            async for _ in notices.listen(nowhere):
                pass

        task = asyncio.create_task(hear())
        await until(lambda: len([r for r in caplog.records if r.name == "jobdeck.store.notices"]) >= 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        asyncio.run(scenario())
    finally:
        nowhere.close()
    lines = notice_lines(caplog)
    assert len(lines) == 1
    assert lines[0].levelno == logging.WARNING
    assert lines[0].exc_info is None
    assert "LISTEN on jobdeck_changes is down" in lines[0].getMessage()
    assert len([r for r in caplog.records if r.name == "jobdeck.store.notices"]) >= 10  # attempts went on
