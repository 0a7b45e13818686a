"""Tracking against a real MLflow server on loopback.

1. Logging 1,000 metric values: `tracking.log_metrics_batch` vs one `mlflow.log_metric` call each.
2. `compare` over N runs (default 5,000): `tracking.compare_runs` (large pages, sorted client-side, best per
   organisation) vs the usual notebook approach (`mlflow.search_runs` to pandas, then sort/groupby).

Usage: python bench/tracking.py [N_RUNS]
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time

import mlflow  # noqa: E402
from _common import ROOT, help_if_asked
from mlflow.entities import Metric, RunTag  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

from proeftuin import tracking  # noqa: E402
from proeftuin.services import mlflow_server_command, wait_until_healthy  # noqa: E402
from proeftuin.settings import load_settings  # noqa: E402

ORGS = ["kortrijk", "waregem", "menen", "harelbeke", "wevelgem", "zwevegem", "leiedal"]


def populate(client: MlflowClient, experiment_id: str, n: int) -> None:
    rng = random.Random(7)
    for i in range(n):
        run = client.create_run(experiment_id, tags={tracking.TAG_ORG: ORGS[i % len(ORGS)]})
        client.log_batch(run.info.run_id, metrics=[Metric("macro_f1", rng.random(), 0, 0),
                                                   Metric("top3_accuracy", rng.random(), 0, 0)],
                         tags=[RunTag(tracking.TAG_KIND, "model")])
        client.set_terminated(run.info.run_id)
        if (i + 1) % 1000 == 0:
            print(f"  {i + 1}/{n} runs aangemaakt", file=sys.stderr)


def main() -> None:
    help_if_asked(__doc__)
    n_runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with tempfile.TemporaryDirectory() as state:
        os.environ["PROEFTUIN_HOME"] = state
        settings = load_settings(ROOT / "proeftuin.yaml")
        settings.ensure_state_dir()
        direct = MlflowClient(settings.backend_store_uri)
        compare_exp = direct.create_experiment("compare-bench", artifact_location=f"{settings.artifact_root}/c")
        print(f"populating {n_runs} runs in the SQLite store…", file=sys.stderr)
        populate(direct, compare_exp, n_runs)

        port = 5987
        import subprocess

        server = subprocess.Popen(mlflow_server_command(settings, "127.0.0.1", port), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(url, server)
            mlflow.set_tracking_uri(url)
            client = MlflowClient(url)
            exp = client.create_experiment("logging-bench")
            values = [("loss", 1.0 / (step + 1), step) for step in range(1000)]

            run_a = client.create_run(exp).info.run_id
            start = time.perf_counter()
            tracking.log_metrics_batch(client, run_a, values)
            batched = time.perf_counter() - start

            with mlflow.start_run(experiment_id=exp) as run_b:
                start = time.perf_counter()
                for key, value, step in values:
                    mlflow.log_metric(key, value, step=step)
                one_by_one = time.perf_counter() - start
            assert len(client.get_metric_history(run_a, "loss")) == 1000
            assert len(client.get_metric_history(run_b.info.run_id, "loss")) == 1000
            print(f"1,000 metric values: log_metrics_batch {batched * 1000:.0f} ms, "
                  f"mlflow.log_metric x1000 {one_by_one * 1000:.0f} ms -> {one_by_one / batched:.1f}x faster")

            start = time.perf_counter()
            ours = tracking.compare_runs(client, compare_exp, "macro_f1", True, by="organisation")
            ours_s = time.perf_counter() - start
            start = time.perf_counter()
            frame = mlflow.search_runs([compare_exp], max_results=n_runs)
            frame = frame.sort_values("metrics.macro_f1", ascending=False)
            naive = frame.groupby(f"tags.{tracking.TAG_ORG}", sort=False).head(1)
            naive_s = time.perf_counter() - start
            assert [r.organisation for r in ours] == list(naive[f"tags.{tracking.TAG_ORG}"])
            print(f"compare over {n_runs} runs (best per organisation): compare_runs {ours_s:.2f} s, "
                  f"search_runs+pandas {naive_s:.2f} s -> ratio {naive_s / ours_s:.2f}x")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
