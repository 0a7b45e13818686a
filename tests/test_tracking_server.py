"""Against a real `proeftuin mlflow` server process: a user's run lands there and is found by its tags."""

from __future__ import annotations

import os
import subprocess
import sys

import mlflow
import pandas as pd
import pytest
from conftest import ROOT
from mlflow.tracking import MlflowClient

from proeftuin import tracking
from proeftuin.errors import ProeftuinError
from proeftuin.services import ensure_port_free


def test_run_through_the_server_is_tracked_registered_and_servable(mlflow_server, run_cli, monkeypatch):
    url = mlflow_server["url"]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    out = run_cli.json("run", "vragenrouter", "--org", "menen", "--param", "max_rows=300")
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    found = client.search_runs(
        [client.get_experiment_by_name("vragenrouter").experiment_id],
        filter_string="tags.`proeftuin.organisation` = 'menen'",
    )
    assert [r.info.run_id for r in found] == [out["run_id"]]
    assert client.get_model_version_by_alias("vragenrouter", "champion").run_id == out["run_id"]
    # the server serves the same store the CLI would use without a server
    assert (mlflow_server["state"] / "mlflow" / "mlflow.db").is_file()

    mlflow.set_tracking_uri(url)
    model = mlflow.pyfunc.load_model("models:/vragenrouter@champion")
    prediction = model.predict(pd.DataFrame({"text": ["Hoeveel militairen zijn er ingezet op straat?"]}))
    assert prediction.loc[0, "label_1"]


def test_mlflow_command_refuses_a_port_in_use(mlflow_server):
    port = int(mlflow_server["url"].rsplit(":", 1)[1])
    with pytest.raises(ProeftuinError, match=f"Poort {port}"):
        ensure_port_free("127.0.0.1", port, "MLflow")
    env = {**os.environ, "PROEFTUIN_HOME": str(mlflow_server["state"])}
    done = subprocess.run([sys.executable, "-m", "proeftuin.cli", "mlflow", "--port", str(port)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "al in gebruik" in done.stderr


def test_server_binds_loopback_only(mlflow_server):
    assert mlflow_server["url"].startswith("http://127.0.0.1:")
    tracking.check_reachable(mlflow_server["url"])
