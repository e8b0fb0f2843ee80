"""Reaching the real services tests need, and skipping clearly (or failing in CI) when one is missing."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_ADMIN_URL = os.environ.get("JOBDECK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE = os.environ.get("JOBDECK_REQUIRE_SERVICES") == "1"


def unavailable(what: str, why: str) -> None:
    """Skip with the reason, or fail when JOBDECK_REQUIRE_SERVICES=1 (as in CI)."""
    message = f"{what} unavailable: {why}"
    if REQUIRE:
        pytest.fail(f"{message} (JOBDECK_REQUIRE_SERVICES=1 turns this skip into a failure)")
    pytest.skip(message)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def fresh_pg_database(prefix: str = "jobdeck_test") -> Iterator[str]:
    """A new, empty PostgreSQL database for the duration of the block; yields its URL."""
    try:
        import psycopg
    except ImportError:
        unavailable("PostgreSQL", "psycopg is not installed")
    if not port_open("127.0.0.1", 5432):
        unavailable("PostgreSQL", "nothing listens on 127.0.0.1:5432")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
