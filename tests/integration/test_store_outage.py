"""A PostgreSQL store that becomes unreachable under a running server (its port stops answering):
one log line when it goes and one when it is back, no tracebacks per reconnect attempt, and health
and the pages say since when it is unreachable."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime

import httpx2 as httpx
import pytest

from jobdeck.store import Store
from tests.integration.test_sdk import serving
from tests.services import fresh_pg_database


class Proxy:
    """A TCP relay to PostgreSQL on a fixed local port, which can stop (refusing and cutting every
    connection, as a database host gone away) and start again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            with suppress(OSError):  # wakes the thread blocked in accept(), which close() alone does not
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._open:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def store_behind_proxy() -> Iterator[tuple[Store, Proxy]]:
    with fresh_pg_database("jobdeck_outage") as url:
        migrated = Store(url)
        migrated.migrate()
        migrated.close()
        proxy = Proxy(("127.0.0.1", 5432))
        proxy.start()
        store = Store(url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}"))
        try:
            yield store, proxy
        finally:
            proxy.stop()
            store.close()


@pytest.mark.postgres
def test_an_unreachable_store_is_logged_once_and_shown_with_since_when(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with store_behind_proxy() as (store, proxy), serving(store) as url, httpx.Client(base_url=url) as client:
        assert client.get("/api/health").json()["status"] == "healthy"
        caplog.clear()
        with caplog.at_level(logging.INFO):
            went = datetime.now(UTC)
            proxy.stop()
            for _ in range(6):  # requests, and the server's own reconnect attempts, for a few seconds
                health = client.get("/api/health")
                assert health.status_code == 503
                assert health.headers["retry-after"]
                page = client.get("/")
                runs = client.get("/api/v1/runs")
                time.sleep(0.5)
            state = health.json()["store"]
            assert state["reachable"] is False
            since = datetime.fromisoformat(state["unreachable_since"])
            assert went <= since <= datetime.now(UTC)
            assert page.status_code == 503
            assert "unreachable since" in page.text
            assert runs.status_code == 503
            assert "unreachable since" in runs.json()["detail"]
            assert runs.headers["retry-after"]
            down = [r for r in caplog.records if "unreachable" in r.getMessage()]
            assert len(down) == 1, [r.getMessage() for r in caplog.records]
            assert [r for r in caplog.records if r.exc_info] == []
            proxy.start()
            deadline = time.monotonic() + 10
            while client.get("/api/health").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert client.get("/api/health").json()["status"] == "healthy"
        back = [r for r in caplog.records if "reachable again" in r.getMessage()]
        assert len(back) == 1
        assert [r for r in caplog.records if r.exc_info] == []
