"""Fixtures: a migrated store on SQLite and on PostgreSQL, an app and a client for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from jobdeck.config import Settings
from jobdeck.recorder import Recorder
from jobdeck.store import Store
from jobdeck.store.schema import metadata
from jobdeck.web.app import create_app
from tests.services import fresh_pg_database


@pytest.fixture(scope="session", autouse=True)
def control_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The local executor's key (it seals the commands it starts) in a temporary file, not the user's."""
    path = tmp_path_factory.mktemp("control") / "control.key"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JOBDECK_CONTROL_KEY_FILE", str(path))
        yield path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """One PostgreSQL database per test run, migrated once; each test empties it."""
    with fresh_pg_database() as url:
        store = Store(url)
        store.migrate()
        store.close()
        yield url


def _empty(store: Store) -> None:
    with store.write() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store on each backend."""
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'jobdeck.db'}")
        store.migrate()
    else:
        store = Store(request.getfixturevalue("pg_url"))
        _empty(store)
    yield store
    store.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'jobdeck.db'}")
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def recorder(store: Store) -> Recorder:
    return Recorder(store)


@pytest.fixture
def settings(store: Store) -> Settings:
    return Settings(database_url=store.url)


@pytest.fixture
def client(store: Store, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store)) as client:
        yield client
