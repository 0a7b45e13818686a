"""The MLflow server of `proeftuin mlflow` and the tests: the same store the CLI uses directly.

The process helpers themselves (port checks, waiting, stopping) live in `proeftuin.process`; their old
names here stay importable.
"""

from __future__ import annotations

import subprocess

from proeftuin.process import ensure_port_free, free_port, mlflow_command, wait_for_url
from proeftuin.settings import Settings

__all__ = ["ensure_port_free", "free_port", "mlflow_server_command", "wait_for_url", "wait_until_healthy"]


def mlflow_server_command(settings: Settings, host: str, port: int, workers: int = 2) -> list[str]:
    """Serve the same store the CLI uses directly, so runs logged either way are one history."""
    return mlflow_command(settings.backend_store_uri, host, port, workers,
                          "--default-artifact-root", settings.artifact_root, "--no-serve-artifacts")


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    wait_for_url(f"{url}/health", process, timeout, "De MLflow-server")
