"""Notification channels: webhook and Slack to a local HTTP receiver, email to a local SMTP server,
failures retried with backoff and shown; bad channels refused with 422."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from jobdeck.alerts.delivery import BACKOFF_S, Sender
from jobdeck.alerts.evaluator import Evaluator
from jobdeck.config import Settings
from jobdeck.events import make_event
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.store import channels as store_channels
from tests.acceptance.test_cli import free_port


class Receiver:
    """A local HTTP server that keeps what is posted to it; answers `status`."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


NOW = datetime.now(UTC).replace(microsecond=0)


def stale_job(recorder: Recorder) -> None:
    """A job with no success for 25 hours: BackgroundJobCriticallyStale fires at the first evaluation."""
    recorder.record(
        [
            make_event("c1", "started", NOW - timedelta(hours=25), {"job": "clip_sync"}),
            make_event("c1", "succeeded", NOW - timedelta(hours=25) + timedelta(seconds=3), {}),
        ]
    )


def test_webhook_and_slack_deliveries_reach_a_receiver(
    client: TestClient, store: Store, recorder: Recorder, receiver: Receiver
) -> None:
    for kind in ("webhook", "slack"):
        made = client.post(
            "/api/v1/channels", json={"type": kind, "name": f"ops-{kind}", "url": receiver.url}
        )
        assert made.status_code == 201, made.text
        assert made.json()["url"] == receiver.url
    stale_job(recorder)
    settings = Settings(database_url=store.url, public_url="https://jobs.example.com")
    evaluation = Evaluator(store, every_s=1, public_url=settings.base_url).run_once(NOW)
    assert ("BackgroundJobCriticallyStale", "clip_sync", "firing") in evaluation.changes
    sent = Sender(store, settings).run_once(NOW)
    assert len(sent.sent) == evaluation.notifications
    assert not sent.failed
    plain = [b for b in receiver.bodies if "rule" in b]
    slack = [b for b in receiver.bodies if "blocks" in b]
    stale = next(b for b in plain if b["rule"] == "BackgroundJobCriticallyStale")
    assert stale["event"] == "firing"
    assert stale["job"] == "clip_sync"
    assert stale["url"] == "https://jobs.example.com/jobs/clip_sync"
    assert stale["value"] == pytest.approx(25 * 3600 - 3, abs=1)
    assert "25.0 h" in stale["figure"]
    text = next(b["text"] for b in slack if "CriticallyStale" in b["text"])
    assert text == f"[FIRING] BackgroundJobCriticallyStale on job clip_sync: {stale['figure']}"
    assert "https://jobs.example.com/jobs/clip_sync" in json.dumps(slack)

    # Resolved: a success, the next evaluation, and the message says so.
    recorder.record(
        [make_event("c2", "started", NOW, {"job": "clip_sync"}), make_event("c2", "succeeded", NOW, {})]
    )
    receiver.bodies.clear()
    Evaluator(store, every_s=1).run_once(NOW + timedelta(seconds=5))
    Sender(store, settings).run_once(NOW + timedelta(seconds=5))
    assert any(
        b.get("event") == "resolved" and b["rule"] == "BackgroundJobCriticallyStale" for b in receiver.bodies
    )
    listed = client.get("/api/v1/channels").json()["channels"]
    assert {c["name"] for c in listed} == {"ops-webhook", "ops-slack"}
    assert all(d["status"] == "sent" for c in listed for d in c["deliveries"])


def test_email_reaches_a_local_smtp_server(
    store: Store, recorder: Recorder, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    settings = Settings(
        database_url=store.url,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_tls="none",
        smtp_from="jobdeck@example.com",
    )
    with store.write() as conn:
        store_channels.add_channel(conn, "email", "oncall", "oncall@example.com", NOW)
    stale_job(recorder)
    Evaluator(store, every_s=1, public_url="https://jobs.example.com").run_once(NOW)
    sent = Sender(store, settings).run_once(NOW)
    assert sent.sent
    assert not sent.failed
    mails = [message_from_bytes(m) for m in mailbox.messages]
    mail = next(m for m in mails if "CriticallyStale" in m["Subject"])
    assert mail["To"] == "oncall@example.com"
    assert mail["From"] == "jobdeck@example.com"
    assert mail["Subject"].startswith("[FIRING] BackgroundJobCriticallyStale on job clip_sync")
    assert "https://jobs.example.com/jobs/clip_sync" in mail.get_payload()


def test_failed_deliveries_are_retried_with_backoff_and_shown(
    client: TestClient, store: Store, receiver: Receiver
) -> None:
    made = client.post(
        "/api/v1/channels", json={"type": "webhook", "name": "flaky", "url": receiver.url}
    ).json()
    receiver.status = 500
    tested = client.post(f"/api/v1/channels/{made['id']}/test")
    assert tested.status_code == 200
    delivery = tested.json()
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == 1
    assert "HTTP 500" in delivery["last_error"]
    retry_at = datetime.fromisoformat(delivery["next_at"])
    waited = (retry_at - datetime.fromisoformat(delivery["created_at"])).total_seconds()
    assert 0.9 * BACKOFF_S[0] <= waited <= 1.1 * BACKOFF_S[0] + 5
    settings = Settings(database_url=store.url)
    assert not Sender(store, settings).run_once(datetime.now(UTC))  # not due yet
    moment = retry_at
    for _attempt in range(2, len(BACKOFF_S) + 2):
        moment += timedelta(hours=1)
        assert Sender(store, settings).run_once(moment).failed
    with store.read() as conn:
        (last,) = store_channels.deliveries(conn)
    assert last["status"] == "failed"
    assert last["attempts"] == len(BACKOFF_S) + 1
    listed = client.get("/api/v1/channels").json()["channels"]
    assert listed[0]["failed_deliveries"] == 1
    assert listed[0]["deliveries"][0]["last_error"].startswith("HTTP 500")
    receiver.status = 200
    assert client.post(f"/api/v1/channels/{made['id']}/test").json()["status"] == "sent"
    assert receiver.bodies[-1]["event"] == "test"


def test_unreachable_smtp_is_a_failure_on_the_channel(client: TestClient, store: Store) -> None:
    made = client.post(
        "/api/v1/channels", json={"type": "email", "name": "mail", "to": "a@example.com"}
    ).json()
    delivery = client.post(f"/api/v1/channels/{made['id']}/test").json()
    assert delivery["status"] == "pending"
    assert "SMTP" in delivery["last_error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "webhook", "name": "x", "url": "ftp://example.com/hook"}, "url"),
        ({"type": "slack", "name": "x"}, "url"),
        ({"type": "email", "name": "x", "to": "not an address"}, "to"),
        ({"type": "pager", "name": "x", "url": "https://example.com"}, "type"),
        ({"type": "webhook", "name": "", "url": "https://example.com/hook"}, "name"),
    ],
)
def test_bad_channels_are_refused(client: TestClient, body: dict[str, Any], field: str) -> None:
    refused = client.post("/api/v1/channels", json=body)
    assert refused.status_code == 422
    assert field in json.dumps(refused.json()["detail"])
    assert client.get("/api/v1/channels").json()["channels"] == []


def test_channel_names_are_unique_and_channels_can_be_removed(client: TestClient) -> None:
    body = {"type": "webhook", "name": "ops", "url": "https://example.com/hook"}
    made = client.post("/api/v1/channels", json=body).json()
    assert client.post("/api/v1/channels", json=body).status_code == 409
    assert client.delete(f"/api/v1/channels/{made['id']}").status_code == 204
    assert client.delete(f"/api/v1/channels/{made['id']}").status_code == 404
