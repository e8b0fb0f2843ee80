"""The audit trail's rows: one per action, login or refusal, newest first when read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select

from jobdeck.store.schema import audit_log
from jobdeck.store.store import Store


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor: str
    address: str
    action: str
    target: str
    result: str
    detail: str


def add(store: Store, entry: Entry) -> None:
    values = {k: v for k, v in entry.__dict__.items() if k != "id"}
    with store.write() as conn:
        conn.execute(insert(audit_log).values(**values))


def entries(
    store: Store,
    *,
    actor: str | None = None,
    action: str | None = None,
    result: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[Entry]:
    """Entries matching every filter given, newest first."""
    query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
    for column, value in (
        (audit_log.c.actor, actor),
        (audit_log.c.action, action),
        (audit_log.c.result, result),
    ):
        if value:
            query = query.where(column == value)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if until is not None:
        query = query.where(audit_log.c.at <= until)
    with store.read() as conn:
        return [Entry(**dict(r._mapping)) for r in conn.execute(query)]


def failed_logins(
    store: Store, since: datetime, *, user: str | None = None, address: str | None = None
) -> list[datetime]:
    """When logins failed since `since`, oldest first: for a user name (case-insensitive, only those
    after its last successful login) or for an address. The throttle reads these, so that every
    process and replica of a server counts the same failures."""
    query = select(audit_log.c.at).where(
        audit_log.c.action == "login", audit_log.c.result == "failed", audit_log.c.at >= since
    )
    with store.read() as conn:
        if user is not None:
            name = func.lower(audit_log.c.target) == user.lower()
            last_ok = conn.execute(
                select(func.max(audit_log.c.at)).where(
                    audit_log.c.action == "login", audit_log.c.result == "ok", audit_log.c.at >= since, name
                )
            ).scalar_one_or_none()
            query = query.where(name)
            if last_ok is not None:
                query = query.where(audit_log.c.at > last_ok)
        if address is not None:
            query = query.where(audit_log.c.address == address)
        return [row.at for row in conn.execute(query.order_by(audit_log.c.at))]
