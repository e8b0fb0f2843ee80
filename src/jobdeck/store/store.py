"""The Store: one engine and the transactions everything else runs in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

from jobdeck.store.engine import is_current, make_engine, migrate, normalize_url
from jobdeck.store.reachability import Reachability, watch


class Store:
    """A jobdeck store on SQLite or PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url)
        self.reachability = Reachability()
        watch(self.engine, self.reachability)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        migrate(self.engine)

    def is_current(self) -> bool:
        return is_current(self.engine)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (one consistent snapshot per transaction)."""
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on any error."""
        with self.engine.connect() as conn:
            conn.info["write"] = True
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.info.pop("write", None)

    def ping(self) -> None:
        """Raise if the store cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()
