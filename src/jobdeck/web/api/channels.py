"""Notification channels: POST/GET/DELETE /api/v1/channels, a test message, and their deliveries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, model_validator

from jobdeck.alerts.delivery import Sender
from jobdeck.config import Settings
from jobdeck.store import Store
from jobdeck.store import channels as store_channels
from jobdeck.web.deps import RowId, SettingsDep, StoreDep

router = APIRouter(prefix="/api/v1", tags=["channels"])


class ChannelIn(BaseModel):
    """A channel: a webhook or Slack incoming webhook takes a `url`, email takes `to`."""

    type: Literal["webhook", "slack", "email"]
    name: str = Field(min_length=1, max_length=200)
    url: str | None = Field(default=None, max_length=2000)
    to: str | None = Field(default=None, max_length=320)

    @model_validator(mode="after")
    def _target(self) -> ChannelIn:
        if self.type == "email":
            if not self.to or "@" not in self.to.strip("@") or any(c.isspace() for c in self.to):
                raise ValueError("'to' must be an email address for an email channel")
        elif not self.url or not self.url.startswith(("http://", "https://")) or len(self.url) < 10:
            raise ValueError("'url' must be an http:// or https:// URL")
        return self

    @property
    def target(self) -> str:
        return (self.to if self.type == "email" else self.url) or ""


class DeliveryOut(BaseModel):
    id: int
    event: str
    rule: str | None
    subject: str | None
    status: str
    attempts: int
    next_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class ChannelOut(BaseModel):
    id: int
    type: str
    name: str
    url: str | None = None
    to: str | None = None
    created_at: datetime
    failed_deliveries: int = 0
    deliveries: list[DeliveryOut] = []


class ChannelList(BaseModel):
    channels: list[ChannelOut]


def channel_out(
    row: dict[str, Any], deliveries: list[dict[str, Any]] | None = None, failed: int = 0
) -> ChannelOut:
    target = {"to": row["target"]} if row["type"] == "email" else {"url": row["target"]}
    return ChannelOut(
        id=row["id"],
        type=row["type"],
        name=row["name"],
        created_at=row["created_at"],
        failed_deliveries=failed,
        deliveries=[DeliveryOut(**d) for d in deliveries or []],
        **target,
    )


def list_channels(store: Store, deliveries: int = 10) -> list[ChannelOut]:
    with store.read() as conn:
        failed = store_channels.failed_counts(conn, datetime.min.replace(tzinfo=UTC))
        return [
            channel_out(row, store_channels.deliveries(conn, row["id"], deliveries), failed.get(row["id"], 0))
            for row in store_channels.channels(conn)
        ]


@router.get("/channels", summary="Notification channels and their latest deliveries")
def get_channels(store: StoreDep) -> ChannelList:
    return ChannelList(channels=list_channels(store))


@router.post("/channels", status_code=201, summary="Add a notification channel")
def add_channel(body: ChannelIn, store: StoreDep) -> ChannelOut:
    """422 for a missing or bad `url`/`to`; 409 when the name is taken."""
    with store.write() as conn:
        if store_channels.channel_named(conn, body.name) is not None:
            raise HTTPException(409, f"a channel named {body.name!r} exists")
        channel_id = store_channels.add_channel(conn, body.type, body.name, body.target, datetime.now(UTC))
        row = store_channels.channel(conn, channel_id)
    assert row is not None
    return channel_out(row)


@router.delete("/channels/{channel_id}", status_code=204, summary="Remove a channel and its deliveries")
def remove_channel(channel_id: RowId, store: StoreDep) -> Response:
    with store.write() as conn:
        if not store_channels.remove_channel(conn, channel_id):
            raise HTTPException(404, "no such channel")
    return Response(status_code=204)


def send_test(store: Store, settings: Settings, channel_id: int) -> dict[str, Any]:
    """Queue a test message to the channel, send it now, and return the delivery as it stands."""
    now = datetime.now(UTC)
    with store.write() as conn:
        row = store_channels.channel(conn, channel_id)
        if row is None:
            raise HTTPException(404, "no such channel")
        payload = {
            "event": "test",
            "rule": "Test",
            "severity": "info",
            "job": "jobdeck-test",
            "queue": None,
            "value": None,
            "threshold": None,
            "figure": "a test message",
            "summary": f"A test message to the channel {row['name']!r}.",
            "message": "If you read this, jobdeck's notifications reach you here.",
            "url": f"{settings.base_url}/alerts/channels",
            "at": now.isoformat(),
        }
        (delivery_id,) = store_channels.enqueue(
            conn,
            [{"channel_id": channel_id, "event": "test", "rule": None, "subject": None, "payload": payload}],
            now,
        )
    Sender(store, settings).send_one(delivery_id, now)
    with store.read() as conn:
        found = store_channels.delivery(conn, delivery_id)
    assert found is not None
    return found


@router.post("/channels/{channel_id}/test", summary="Send a test message now")
async def test_channel(channel_id: RowId, store: StoreDep, settings: SettingsDep) -> DeliveryOut:
    """The delivery: `sent`, or `pending` with the error and its retry time."""
    found = await run_in_threadpool(send_test, store, settings, channel_id)
    return DeliveryOut(**found)
