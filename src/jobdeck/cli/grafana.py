"""`jobdeck grafana-dashboard`: print the Grafana dashboard JSON for jobdeck's /metrics."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from jobdeck.metrics.grafana import dashboard


def grafana_dashboard(
    title: Annotated[str, typer.Option(help="The dashboard's title")] = "Background Jobs",
    uid: Annotated[
        str, typer.Option(help="The dashboard's uid (its URL in Grafana)")
    ] = "jobdeck-background-jobs",
) -> None:
    """Print a provisionable Grafana dashboard (Prometheus data source chosen as a variable)."""
    typer.echo(json.dumps(dashboard(title, uid), indent=2))


def register(app: typer.Typer) -> None:
    app.command("grafana-dashboard")(grafana_dashboard)
