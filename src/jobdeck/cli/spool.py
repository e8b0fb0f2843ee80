"""`jobdeck spool`: show, resend or clear the events the SDK keeps on disk for its destination.

The SDK spools what its destination could not take yet (replayed on its own), holds batches the
server failed on (retried with back-off) and sets aside events the server refused (kept until a
person looks). The spool of a destination lives under the SDK's spool directory; these commands
find it from the same settings the SDK reads (JOBDECK_URL, JOBDECK_DATABASE_URL, JOBDECK_SPOOL_DIR),
or from --url / --db.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from jobdeck.sdk.client import transport_for
from jobdeck.sdk.sender import BATCH_SIZE
from jobdeck.sdk.settings import SdkSettings, server_url
from jobdeck.sdk.spool import Spool
from jobdeck.sdk.transport import Rejected, Unavailable

spool_app = typer.Typer(help="Show, resend or clear the events the SDK has spooled, held or set aside.")
UrlOption = Annotated[str | None, typer.Option("--url", help="The server the SDK sends to (JOBDECK_URL)")]
DbOption = Annotated[str | None, typer.Option("--db", help="The store the SDK writes to, with no server")]
KINDS = ("spooled", "held", "set aside")


def _settings(url: str | None, db: str | None) -> SdkSettings:
    settings = SdkSettings.from_env()
    if url:
        settings = dataclasses.replace(settings, url=server_url(url))
    elif db:
        settings = dataclasses.replace(settings, url=None, database_url=db)
    return settings


def _spool(settings: SdkSettings) -> Spool:
    return Spool(settings.spool_path, settings.spool_max_bytes)


def _files(spool: Spool) -> dict[str, list[Path]]:
    return dict(zip(KINDS, (spool.files(), spool.held(), spool.rejected()), strict=True))


def _count(spool: Spool, files: list[Path]) -> int:
    return sum(len(spool.read(file)) for file in files)


@spool_app.command("show")
def show(url: UrlOption = None, db: DbOption = None) -> None:
    """Count the events waiting for the destination, and list the ones set aside."""
    settings = _settings(url, db)
    spool = _spool(settings)
    typer.echo(f"spool of {settings.destination}: {spool.path}")
    for kind, files in _files(spool).items():
        typer.echo(f"{kind}: {_count(spool, files)} events in {len(files)} files")
    for file in spool.rejected():
        for event in spool.read(file):
            typer.echo(
                f"  set aside: {event.get('event')} event of run {event.get('run_id')!r} ({file.name})"
            )


@spool_app.command("resend")
def resend(
    url: UrlOption = None,
    db: DbOption = None,
    set_aside: Annotated[bool, typer.Option("--set-aside", help="Also resend the events set aside")] = False,
) -> None:
    """Send what is spooled and held now (and the set-aside events with --set-aside)."""
    settings = _settings(url, db)
    spool = _spool(settings)
    files = [*spool.files(), *spool.held(), *(spool.rejected() if set_aside else [])]
    transport = transport_for(settings)
    sent = kept = 0
    try:
        for file in sorted(files, key=lambda f: f.name):
            events = spool.read(file)
            try:
                for start in range(0, len(events), BATCH_SIZE):
                    transport.send(events[start : start + BATCH_SIZE])
            except (Unavailable, Rejected) as exc:
                kept += len(events)
                typer.echo(f"{file.name}: not sent, kept ({exc})", err=True)
                continue
            spool.remove(file)
            sent += len(events)
    finally:
        transport.close()
    typer.echo(f"sent {sent} events; {kept} kept")
    if kept:
        raise typer.Exit(1)


@spool_app.command("clear")
def clear(
    url: UrlOption = None,
    db: DbOption = None,
    only: Annotated[
        str | None, typer.Option(help="Clear only 'spooled', 'held' or 'set-aside' events")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask first")] = False,
) -> None:
    """Delete spooled, held and set-aside events for good."""
    spool = _spool(_settings(url, db))
    files = _files(spool)
    if only is not None:
        kind = only.replace("-", " ")
        if kind not in files:
            raise typer.BadParameter("use spooled, held or set-aside", param_hint="--only")
        files = {kind: files[kind]}
    doomed = [file for group in files.values() for file in group]
    count = _count(spool, doomed)
    if not yes and count and not typer.confirm(f"Delete {count} events from {spool.path}?"):
        raise typer.Exit(1)
    for file in doomed:
        spool.remove(file)
    typer.echo(f"deleted {count} events")


def register(app: typer.Typer) -> None:
    app.add_typer(spool_app, name="spool")
