"""The SDK against a server that answers 500 for a while (saying all the while that it is healthy),
then 202: every run arrives, each of its events accepted exactly once."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from sqlalchemy import select
from starlette.types import ASGIApp, Receive, Scope, Send

import jobdeck
from jobdeck.config import Settings
from jobdeck.sdk import configure, shutdown, track
from jobdeck.store import Store
from jobdeck.store.schema import runs
from jobdeck.web.app import create_app


class FailingIngest:
    """Answers 500 to POST /api/v1/events while `failing`; counts the events it let through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.failing = True
        self.refused_posts = 0
        self.accepted: Counter[tuple[str, str]] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/api/v1/events" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if self.failing:
            self.refused_posts += 1
            await send({"type": "http.response.start", "status": 500, "headers": []})
            await send({"type": "http.response.body", "body": b"Internal Server Error"})
            return
        sent = False

        async def replay() -> dict[str, object]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 0

        async def watch(message: dict[str, object]) -> None:  # type: ignore[type-arg]
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])  # type: ignore[call-overload]
            await send(message)  # type: ignore[arg-type]

        await self.app(scope, replay, watch)  # type: ignore[arg-type]
        if status == 202:
            for event in json.loads(body):
                self.accepted[(event["run_id"], event["event"])] += 1


@contextmanager
def failing_server(store: Store) -> Iterator[tuple[str, FailingIngest]]:
    app = FailingIngest(create_app(Settings(database_url=store.url), store))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", app
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def test_runs_sent_while_the_server_answers_500_arrive_exactly_once(store: Store, tmp_path: Path) -> None:
    with failing_server(store) as (url, ingest):
        configure(url=url, spool_dir=tmp_path / "spool", heartbeat_interval_s=0)
        try:
            for n in range(30):
                with track.run("flaky", run_id=f"f-{n}"):
                    pass
                if n % 10 == 9:
                    jobdeck.flush(2)  # a batch each: each answered 500 and held
            assert ingest.refused_posts >= 3
            ingest.failing = False
            deadline = time.monotonic() + 30
            while len(ingest.accepted) < 60 and time.monotonic() < deadline:
                jobdeck.flush(2)
                time.sleep(0.1)
        finally:
            shutdown(timeout=5)
        with store.read() as conn:
            stored = {r.run_id: r.status for r in conn.execute(select(runs.c.run_id, runs.c.status))}
    assert stored == {f"f-{n}": "succeeded" for n in range(30)}
    assert set(ingest.accepted) == {(f"f-{n}", kind) for n in range(30) for kind in ("started", "succeeded")}
    assert set(ingest.accepted.values()) == {1}
