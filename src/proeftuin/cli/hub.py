"""`proeftuin up`: start the platform (JupyterHub with MLflow, the gallery and the docs behind it)."""

from __future__ import annotations

import dataclasses
import sys

import click

from proeftuin.settings import get_settings


@click.command("up")
@click.option("--port", type=int, default=None, help="Poort van de hub (standaard uit proeftuin.yaml: 8000).")
@click.option("--no-train", is_flag=True,
              help="Geen kampioensmodellen trainen voor pilots zonder model "
                   "(sneller; de galerij toont dan 'nog geen model').")
def up(port: int | None, no_train: bool) -> None:
    """Start het platform: één login voor notebooks, MLflow, de galerij en de kennissite.

    Installeert wat ontbreekt, traint een kampioensmodel voor elke pilot zonder model, en start de hub
    op http://127.0.0.1:8000. Stoppen met Ctrl-C; opnieuw starten gaat verder waar je was.
    """
    from proeftuin.hub.context import HubContext
    from proeftuin.hub.platform import run_platform

    hub = HubContext.from_environment()
    if port is not None:
        hub = dataclasses.replace(hub, port=port)
    get_settings()  # fail early on a broken proeftuin.yaml
    sys.exit(run_platform(hub, click.echo, train=not no_train))
