"""What every command shares: the --db option, settings from flags and variables, the store, and how to fail.

Results go to stdout (`out`), diagnostics (progress, warnings, errors) to stderr (`console`).
"""

from __future__ import annotations

import socket
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from jobdeck.config import Settings
from jobdeck.store import Store

console = Console(stderr=True)  # diagnostics: progress, warnings, errors
out = Console(soft_wrap=True)  # results

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Store URL (sqlite:///path or postgresql://…); default $JOBDECK_DATABASE_URL"),
]


_FLAGS = {
    "database_url": "--db",
    "host": "--host",
    "port": "--port",
    "root_path": "--root-path",
    "alert_interval_s": "--alert-interval",
}


_EMPTY_DB = "--db is empty; give a store URL such as sqlite:///./jobdeck.db or postgresql://host/db"


def fail(message: str, code: int = 2) -> NoReturn:
    """Say what is wrong on stderr and exit non-zero (no traceback)."""
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(code)


def settings_for(db: str | None, **overrides: object) -> Settings:
    """Settings from the flags given, then JOBDECK_* variables and .env; exit with a message if one is bad."""
    from pydantic import ValidationError

    values = {k: v for k, v in overrides.items() if v is not None}
    if db is not None:
        if not db.strip():
            fail(_EMPTY_DB)
        values["database_url"] = db
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"])
            flag = f"{_FLAGS[name]} or " if name in _FLAGS else ""
            problems.append(f"{name} = {error.get('input')!r}: {error['msg']} ({flag}JOBDECK_{name.upper()})")
        fail("bad setting: " + "; ".join(problems))


def _in_memory(url: str) -> bool:
    """True for an in-memory SQLite URL: every connection would see its own empty store."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from jobdeck.store.engine import normalize_url

    try:
        parsed = make_url(normalize_url(url))
    except (ArgumentError, ValueError):
        return False
    if parsed.get_backend_name() != "sqlite":
        return False
    return parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory"


def check_store_url(url: str) -> None:
    """Exit with a message for a store URL that cannot work: empty, or an in-memory SQLite store."""
    if not url.strip():
        fail(_EMPTY_DB)
    if _in_memory(url):
        fail(
            f"{url!r} is an in-memory SQLite store, which vanishes with its connection; "
            "give a file, e.g. sqlite:///./jobdeck.db"
        )


def check_can_listen(host: str, port: int) -> None:
    """Exit with a clear message when the address cannot be listened on (before any slow start-up work)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        fail(f"cannot listen on {host}:{port}: {reason}; choose another with --port/--host (or JOBDECK_PORT)")


def open_store(settings: Settings) -> Store:
    """Open and migrate the store, or exit with a clear message."""
    from sqlalchemy.exc import SQLAlchemyError

    check_store_url(settings.database_url)
    try:
        store = Store(settings.database_url)
        store.migrate()
    except (SQLAlchemyError, OSError, ValueError, ModuleNotFoundError) as exc:
        fail(f"cannot open the store {settings.database_url!r}: {exc}")
    return store
