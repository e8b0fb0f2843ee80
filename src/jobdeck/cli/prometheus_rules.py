"""`jobdeck prometheus-rules`: print Prometheus alerting rules for jobdeck's /metrics."""

from __future__ import annotations

from typing import Annotated

import typer

from jobdeck.metrics.rules import rules_yaml


def prometheus_rules(
    jobdeck_url: Annotated[
        str, typer.Option(help="Where jobdeck is served: each alert's runbook link points at its alerts page")
    ] = "http://127.0.0.1:5555",
) -> None:
    """Print the alerting rules (YAML for Prometheus' rule_files), each with a summary, a description and a
    runbook link."""
    if not jobdeck_url.startswith(("http://", "https://")):
        raise typer.BadParameter("use an http:// or https:// URL", param_hint="--jobdeck-url")
    typer.echo(rules_yaml(jobdeck_url), nl=False)


def register(app: typer.Typer) -> None:
    app.command("prometheus-rules")(prometheus_rules)
