"""Migration 0012 (queue_samples) goes up, down and up again on both backends, and the table it makes
takes the sampler's upserts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect

from jobdeck.integrations.queues import QueueState
from jobdeck.store import Store, queue_samples
from jobdeck.store.engine import alembic_config
from tests.services import fresh_pg_database


@pytest.fixture(params=["sqlite", "postgres"])
def own_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'm.db'}")
        store.migrate()
        yield store
        store.close()
        return
    with fresh_pg_database("jobdeck_mig") as url:
        store = Store(url)
        store.migrate()
        yield store
        store.close()


def test_0012_up_down_up(own_store: Store) -> None:
    state = QueueState("emails", "bullmq", "redis://h/0", {"waiting": 3, "active": 1, "completed": 9})
    with own_store.write() as conn:
        assert queue_samples.write(conn, 1_800_000_000, [state]) == 1
        queue_samples.write(
            conn, 1_800_000_010, [QueueState("emails", "bullmq", "redis://h/0", {"waiting": 1})]
        )
    with own_store.read() as conn:
        _step, [(key, points)] = queue_samples.series(conn, 1_800_000_000 - 120, 1_800_000_060)
    assert key.queue == "emails"
    assert (1_800_000_000 - 1_800_000_000 % 60, 4.0) in points  # the minute's largest size
    config = alembic_config(own_store.engine)
    command.downgrade(config, "0011")
    assert "queue_samples" not in inspect(own_store.engine).get_table_names()
    command.upgrade(config, "head")
    assert own_store.is_current()
    assert "queue_samples" in inspect(own_store.engine).get_table_names()
