"""The migrations build exactly the schema the code declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from jobdeck.store import Store
from jobdeck.store.schema import metadata

# Objects the migrations create that SQLAlchemy's metadata does not describe (search indexes, FTS).
NOT_IN_METADATA_PREFIXES = ("runs_fts", "ix_runs_search", "trg_runs_")


def _declared(diff: object) -> bool:
    text = repr(diff)
    return not any(prefix in text for prefix in NOT_IN_METADATA_PREFIXES)


def test_migrations_match_the_schema(store: Store) -> None:
    with store.read() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diffs if _declared(d)] == []


def test_migrating_twice_is_harmless(store: Store) -> None:
    store.migrate()
    assert store.is_current()
