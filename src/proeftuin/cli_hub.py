"""`proeftuin up`: start the platform on its embedded defaults."""

from __future__ import annotations

import sys

import click

from proeftuin.settings import get_settings


@click.command("up")
@click.option("--port", type=int, default=None, help="Poort van de MLflow-server (standaard 5000).")
def up(port: int | None) -> None:
    """Start het platform (voorlopig de MLflow-server) en toon waar het bereikbaar is."""
    from proeftuin.services import run_mlflow_server

    settings = get_settings()
    settings.ensure_state_dir()
    sys.exit(run_mlflow_server(settings, settings.host, port or settings.ports.mlflow))
