"""CLI commands, a module per area; cli.py registers them on the Typer app."""
