"""Notification channels and their deliveries (the outbox the sender works through)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from jobdeck.store.schema import alert_channels, alert_deliveries

PENDING, SENT, FAILED = "pending", "sent", "failed"


def channels(conn: Connection) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in conn.execute(select(alert_channels).order_by(alert_channels.c.id))]


def channel(conn: Connection, channel_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(alert_channels).where(alert_channels.c.id == channel_id)).first()
    return dict(row._mapping) if row else None


def channel_named(conn: Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute(select(alert_channels).where(alert_channels.c.name == name)).first()
    return dict(row._mapping) if row else None


def add_channel(conn: Connection, kind: str, name: str, target: str, now: datetime) -> int:
    result = conn.execute(
        insert(alert_channels)
        .values(type=kind, name=name, target=target, created_at=now)
        .returning(alert_channels.c.id)
    )
    return int(result.scalar_one())


def remove_channel(conn: Connection, channel_id: int) -> bool:
    """Delete a channel and its deliveries."""
    conn.execute(delete(alert_deliveries).where(alert_deliveries.c.channel_id == channel_id))
    return bool(conn.execute(delete(alert_channels).where(alert_channels.c.id == channel_id)).rowcount)


def enqueue(conn: Connection, deliveries: Sequence[Mapping[str, Any]], now: datetime) -> list[int]:
    """Add deliveries (channel_id, event, rule, subject, payload) due now; returns their ids."""
    ids = []
    for d in deliveries:
        result = conn.execute(
            insert(alert_deliveries)
            .values(**d, status=PENDING, attempts=0, next_at=now, created_at=now)
            .returning(alert_deliveries.c.id)
        )
        ids.append(int(result.scalar_one()))
    return ids


def due(conn: Connection, now: datetime, limit: int = 50) -> list[dict[str, Any]]:
    """Pending deliveries whose time has come, oldest first, with their channel."""
    query = (
        select(alert_deliveries, alert_channels.c.type, alert_channels.c.target, alert_channels.c.name)
        .join(alert_channels, alert_channels.c.id == alert_deliveries.c.channel_id)
        .where(alert_deliveries.c.status == PENDING, alert_deliveries.c.next_at <= now)
        .order_by(alert_deliveries.c.next_at, alert_deliveries.c.id)
        .limit(limit)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def claim(conn: Connection, delivery_id: int, next_at: datetime, lease_until: datetime) -> bool:
    """Take a due delivery for this process: moves its time to the lease's end, so another replica
    skips it while this one sends; False when another took it first."""
    result = conn.execute(
        update(alert_deliveries)
        .where(
            alert_deliveries.c.id == delivery_id,
            alert_deliveries.c.status == PENDING,
            alert_deliveries.c.next_at == next_at,
        )
        .values(next_at=lease_until)
    )
    return result.rowcount == 1


def sent(conn: Connection, delivery_id: int, now: datetime) -> None:
    conn.execute(
        update(alert_deliveries)
        .where(alert_deliveries.c.id == delivery_id)
        .values(status=SENT, attempts=alert_deliveries.c.attempts + 1, sent_at=now, last_error=None)
    )


def attempt_failed(conn: Connection, delivery_id: int, error: str, retry_at: datetime | None) -> None:
    """Record a failed attempt: retried at `retry_at`, or failed for good when None."""
    values: dict[str, Any] = {"attempts": alert_deliveries.c.attempts + 1, "last_error": error[:2000]}
    if retry_at is None:
        values["status"] = FAILED
    else:
        values["next_at"] = retry_at
    conn.execute(update(alert_deliveries).where(alert_deliveries.c.id == delivery_id).values(**values))


def deliveries(conn: Connection, channel_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest deliveries, newest first."""
    query = select(alert_deliveries).order_by(alert_deliveries.c.id.desc()).limit(limit)
    if channel_id is not None:
        query = query.where(alert_deliveries.c.channel_id == channel_id)
    return [dict(row._mapping) for row in conn.execute(query)]


def delivery(conn: Connection, delivery_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(alert_deliveries).where(alert_deliveries.c.id == delivery_id)).first()
    return dict(row._mapping) if row else None


def failed_counts(conn: Connection, since: datetime) -> dict[int, int]:
    """Failed deliveries per channel since a time (what the channels page flags)."""
    query = (
        select(alert_deliveries.c.channel_id, func.count())
        .where(alert_deliveries.c.status == FAILED, alert_deliveries.c.created_at >= since)
        .group_by(alert_deliveries.c.channel_id)
    )
    return {int(c): int(n) for c, n in conn.execute(query)}


def lease(seconds: float, now: datetime) -> datetime:
    return now + timedelta(seconds=seconds)
