"""Shared fixtures: a fresh real SQLite tracking store per test, a real MLflow server when asked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from click.testing import CliRunner

from proeftuin.cli import cli
from proeftuin.services import free_port  # noqa: F401 (shared with the test modules)
from proeftuin.services import wait_for_url as wait_for

ROOT = Path(__file__).resolve().parents[1]
PILOTS = ROOT / "pilots"


@pytest.fixture(autouse=True)
def fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Each test gets its own state folder (SQLite store, artifacts) and no inherited tracking URI."""
    state = tmp_path / "state"
    monkeypatch.setenv("PROEFTUIN_HOME", str(state))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("PROEFTUIN_PILOTS_DIR", raising=False)
    monkeypatch.delenv("PROEFTUIN_CONFIG", raising=False)
    monkeypatch.chdir(ROOT)
    yield state
    assert not mlflow.active_run(), "a test leaked an active MLflow run"
    mlflow.set_tracking_uri(None)


class Cli:
    """Drive the CLI as a user would, in-process."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0):
        result = self.runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, f"exit {result.exit_code}\nstdout:{result.stdout}\nstderr:{result.stderr}"
        return result

    def json(self, *args: str):
        return json.loads(self(*args, "--json").stdout)


def python_without_pickle(code: str, state: Path) -> str:
    """Run `code` in a new interpreter that refuses pickle, as a user's script would; its last stdout line."""
    env = {**os.environ, "PROEFTUIN_HOME": str(state), "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def run_cli() -> Cli:
    return Cli()


@pytest.fixture
def pilots_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of the repo's pilots (without their big data), selected via PROEFTUIN_PILOTS_DIR."""
    target = tmp_path / "pilots"
    shutil.copytree(PILOTS, target, ignore=shutil.ignore_patterns("*.csv", "__pycache__"))
    for csv in PILOTS.glob("*/data/*.csv"):
        link = target / csv.relative_to(PILOTS)
        link.symlink_to(csv)
    monkeypatch.setenv("PROEFTUIN_PILOTS_DIR", str(target))
    return target


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory):
    """A real `proeftuin mlflow` process on its own state folder and a free loopback port."""
    state = tmp_path_factory.mktemp("server-state")
    port = free_port()
    env = {**os.environ, "PROEFTUIN_HOME": str(state)}
    env.pop("MLFLOW_TRACKING_URI", None)
    log = open(state / "server.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen([sys.executable, "-m", "proeftuin.cli", "mlflow", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/health", process)
        yield {"url": url, "state": state, "process": process}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
