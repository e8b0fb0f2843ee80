"""The jobdeck command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from jobdeck.commands import data, demo
from jobdeck.config import Settings
from jobdeck.store import Store

app = typer.Typer(help="jobdeck: one dashboard and control plane for background jobs.", no_args_is_help=True)
console = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Store URL (sqlite:///path or postgresql://…); default $JOBDECK_DATABASE_URL"),
]


def settings_for(db: str | None, **overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if db:
        values["database_url"] = db
    return Settings(**values)  # type: ignore[arg-type]


def open_store(settings: Settings) -> Store:
    """Open and migrate the store, or exit with a clear message."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        store = Store(settings.database_url)
        store.migrate()
    except (SQLAlchemyError, OSError, ValueError, ModuleNotFoundError) as exc:
        console.print(f"[red]error:[/red] cannot open the store {settings.database_url!r}: {exc}")
        raise typer.Exit(2) from None
    return store


@app.command()
def migrate(db: DbOption = None) -> None:
    """Create or upgrade the store's schema."""
    settings = settings_for(db)
    store = open_store(settings)
    console.print(f"store at {store.engine.url.render_as_string(hide_password=True)} is up to date")


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    root_path: Annotated[str | None, typer.Option(help="Path prefix when behind a reverse proxy")] = None,
) -> None:
    """Serve the dashboard and API (migrating the store first)."""
    import uvicorn

    from jobdeck.web.app import create_app

    settings = settings_for(db, host=host, port=port, root_path=root_path)
    store = open_store(settings)
    console.print(f"jobdeck serving on http://{settings.host}:{settings.port}{settings.root_path}/")
    uvicorn.run(create_app(settings, store), host=settings.host, port=settings.port, log_level="warning")


# Commands that live in their own modules under jobdeck/commands/ define `register(app)`;
# each such module is added to this tuple (imported at the top of this file).
COMMAND_MODULES: tuple[object, ...] = (data, demo)
for _module in COMMAND_MODULES:
    _module.register(app)  # type: ignore[attr-defined]
