"""Starting the platform's services as real processes, with Dutch messages when a port is taken."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import click

from proeftuin.errors import ProeftuinError
from proeftuin.settings import Settings


def ensure_port_free(host: str, port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            raise ProeftuinError(
                f"Poort {port} op {host} is al in gebruik; {what} kan niet starten.",
                "Stop het programma dat de poort gebruikt, of kies een andere poort met --port.",
            ) from None


def mlflow_server_command(settings: Settings, host: str, port: int, workers: int = 2) -> list[str]:
    """Serve the same store the CLI uses directly, so runs logged either way are one history."""
    return [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", settings.backend_store_uri,
        "--default-artifact-root", settings.artifact_root,
        "--no-serve-artifacts",
        "--host", host,
        "--port", str(port),
        "--workers", str(workers),
    ]


def stop_on_sigterm() -> None:
    """Let SIGTERM (systemd, `kill`, test teardown) run the same clean shutdown as Ctrl-C, and let Ctrl-C work
    even when the shell started us with SIGINT ignored (a background job of a script: `proeftuin mlflow &`)."""

    def handler(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for_url(url: str, process: subprocess.Popen, timeout: float = 120.0, what: str = "De dienst") -> None:
    """Poll `url` until it answers, failing early (with a message) when the process has stopped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ProeftuinError(f"{what} stopte meteen (code {process.returncode}).",
                                 "Bekijk de meldingen hierboven; controleer of de statusmap beschrijfbaar is.")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback http)
                return
        except OSError:
            time.sleep(0.3)
    raise ProeftuinError(f"{what} antwoordt niet op {url} na {timeout:.0f} s.")


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    wait_for_url(f"{url}/health", process, timeout, "De MLflow-server")


def run_mlflow_server(settings: Settings, host: str, port: int) -> int:
    """Run MLflow in the foreground until Ctrl-C; returns its exit code."""
    ensure_port_free(host, port, "MLflow")
    settings.ensure_state_dir()
    url = f"http://{host}:{port}"
    # MLflow 3's background job runner (online scoring, trace archival) is not used here and costs seven
    # worker processes (about 30 s of CPU at every start); as for the hub's MLflow. A user may still turn it on.
    env = {**os.environ}
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # no usage data from the server or its UI
    stop_on_sigterm()
    from proeftuin.process import child_preexec

    # default signal actions (it stops on our SIGINT even when we inherited it ignored); dies with us
    process = subprocess.Popen(mlflow_server_command(settings, host, port), env=env,  # noqa: S603 (fixed argv)
                               preexec_fn=child_preexec)
    try:
        wait_until_healthy(url, process)
        click.secho(f"MLflow draait op {url}", fg="green")
        click.echo(f"Gebruik het in andere vensters met: export MLFLOW_TRACKING_URI={url}")
        click.echo("Stoppen: Ctrl-C.")
        return process.wait()
    except KeyboardInterrupt:
        click.echo("\nMLflow wordt gestopt…")
        return 0
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
