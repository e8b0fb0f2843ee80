"""The Typer app: `jobdeck --version` and every command, each registered from the module that holds it."""

from __future__ import annotations

from typing import Annotated

import typer

from jobdeck.cli import (
    auth,
    celery_beat,
    crontab,
    data,
    demo,
    grafana,
    prometheus_rules,
    run,
    scheduler,
    server,
    spool,
)
from jobdeck.cli.common import out
from jobdeck.version import __version__

app = typer.Typer(help="jobdeck: one dashboard and control plane for background jobs.", no_args_is_help=True)


def _print_version(value: bool) -> None:
    if value:
        out.print(f"jobdeck {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit"),
    ] = False,
) -> None:
    """jobdeck: one dashboard and control plane for background jobs."""


for _module in (
    server,
    data,
    demo,
    run,
    crontab,
    scheduler,
    grafana,
    prometheus_rules,
    spool,
    auth,
    celery_beat,
):
    _module.register(app)
