"""MLflow tracking: one experiment per pilot, tagged runs, batched metrics, profiles and champions.

Every command honours `MLFLOW_TRACKING_URI`; without it the platform's own store is used
(the embedded default: SQLite and an artifact folder in the state folder).
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities import Metric, Param, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from proeftuin import storage
from proeftuin.errors import TrackingUnavailable
from proeftuin.pilot import Pilot
from proeftuin.settings import Settings
from proeftuin.tags import (  # noqa: F401 (tracking's API: tracking.TAG_ORG, ...)
    CHAMPION_ALIAS,
    TAG_CHAMPION_VERSION,
    TAG_COMMIT,
    TAG_DATA_HASH,
    TAG_KIND,
    TAG_ORG,
    TAG_ORGS,
    TAG_OWNER,
    TAG_PILOT,
    TAG_TEMPLATE,
    TAG_THEME,
    TAG_USER,
)

BATCH_LIMIT = 1000  # MLflow accepts at most 1000 metrics per log_batch call


def tracking_uri(settings: Settings) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or settings.backend_store_uri


def _is_remote(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "databricks"))


def check_reachable(uri: str, timeout: float = 3.0) -> None:
    """Fail fast with a clear message instead of MLflow's long retry loop on a dead server."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout):  # noqa: S310 (http only)
            return
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            return  # reachable, authentication is MLflow's business
        reason = f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = str(getattr(exc, "reason", exc))
    raise TrackingUnavailable(
        f"De MLflow-server op {uri} is niet bereikbaar ({reason}). Er is niets opgeslagen of verloren.",
        "Start hem met `proeftuin mlflow`, of zet MLFLOW_TRACKING_URI op het juiste adres.",
    )


def connect(settings: Settings) -> MlflowClient:
    """Point MLflow at the platform's store (or MLFLOW_TRACKING_URI) and return a client."""
    uri = tracking_uri(settings)
    check_reachable(uri)
    if not _is_remote(uri):
        storage.apply_environment(settings)  # the database password and S3 keys for MLflow (storage: section)
        if uri == settings.backend_store_uri and (uri.startswith("postgresql") or settings.remote_artifact_root):
            storage.check(settings, ("mlflow",))  # a Dutch message, not MLflow's, for a wrong password or bucket
        settings.ensure_state_dir()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(client: MlflowClient, pilot: Pilot, settings: Settings) -> str:
    """The pilot's experiment (named after its slug), created on first use."""
    experiment = client.get_experiment_by_name(pilot.slug)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment.experiment_id)
        return experiment.experiment_id
    tags = {
        TAG_PILOT: pilot.slug,
        TAG_OWNER: pilot.manifest.owner,
        TAG_ORGS: ",".join(pilot.manifest.organisations),
        TAG_THEME: pilot.manifest.theme,
        "mlflow.note.content": pilot.manifest.question,
    }
    artifact_location = None
    if not _is_remote(client.tracking_uri):
        artifact_location = f"{settings.artifact_root.rstrip('/')}/{pilot.slug}"
    try:
        return client.create_experiment(pilot.slug, artifact_location=artifact_location, tags=tags)
    except MlflowException:  # created concurrently by another process
        return client.get_experiment_by_name(pilot.slug).experiment_id


def git_commit(folder: Path) -> str:
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        out = subprocess.run(  # noqa: S603 (fixed argv)
            [git, "rev-parse", "--short=12", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def current_user() -> str:
    return os.environ.get("JUPYTERHUB_USER") or os.environ.get("PROEFTUIN_USER") or getpass.getuser()


def run_tags(pilot: Pilot, organisation: str, data_hash: str, kind: str, settings: Settings) -> dict[str, str]:
    return {
        TAG_PILOT: pilot.slug,
        TAG_ORG: organisation,
        TAG_USER: current_user(),
        TAG_TEMPLATE: pilot.manifest.template,
        TAG_COMMIT: git_commit(settings.project_root),
        TAG_DATA_HASH: data_hash,
        TAG_KIND: kind,
    }


def log_metrics_batch(client: MlflowClient, run_id: str,
                      metrics: Mapping[str, float] | Iterable[tuple[str, float, int]]) -> int:
    """Log many metric values in as few requests as MLflow allows (1000 per call).

    Accepts a {name: value} mapping or (name, value, step) triples (e.g. a learning curve).
    """
    now = int(time.time() * 1000)
    if isinstance(metrics, Mapping):
        items = [(k, v, 0) for k, v in metrics.items()]
    else:
        items = list(metrics)
    entries = [Metric(key, float(value), now, int(step)) for key, value, step in items if _finite(value)]
    for start in range(0, len(entries), BATCH_LIMIT):
        client.log_batch(run_id, metrics=entries[start:start + BATCH_LIMIT])
    return len(entries)


def _finite(value: Any) -> bool:
    try:
        return bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


def log_params(client: MlflowClient, run_id: str, params: Mapping[str, Any]) -> None:
    entries = [Param(k, str(v)[:6000]) for k, v in params.items()]
    for start in range(0, len(entries), 100):
        client.log_batch(run_id, params=entries[start:start + 100])


def dataset_profile(frame: pd.DataFrame, label_column: str | None = None,
                    text_column: str | None = None) -> dict[str, Any]:
    """Rows, columns, missing values and label balance: what a reader checks before trusting a run.

    Holds no cell values except labels, so it is safe to log for data with personal data.
    """
    blank = frame.isna() | frame.astype(str).apply(lambda c: c.str.strip() == "")
    profile: dict[str, Any] = {
        "rows": int(len(frame)),
        "columns": [
            {"name": str(c), "dtype": str(frame[c].dtype), "missing": int(blank[c].sum())} for c in frame.columns
        ],
        "missing_total": int(blank.to_numpy().sum()),
    }
    if label_column and label_column in frame:
        counts = frame[label_column].value_counts()
        profile["label_balance"] = {str(k): int(v) for k, v in counts.items()}
        profile["n_labels"] = int(len(counts))
        profile["imbalance_ratio"] = round(float(counts.max() / max(counts.min(), 1)), 2)
    if text_column and text_column in frame:
        lengths = frame[text_column].astype(str).str.len()
        profile["text_length"] = {q: int(lengths.quantile(p)) for q, p in
                                  [("min", 0), ("p50", 0.5), ("p95", 0.95), ("max", 1)]}
    return profile


def log_dataset_profile(client: MlflowClient, run_id: str, profile: dict[str, Any]) -> None:
    """The profile as JSON, plus a bar chart of the label balance when there are labels."""
    client.log_dict(run_id, profile, "profile/data_profile.json")
    if balance := profile.get("label_balance"):
        from proeftuin.plots import label_balance_figure

        client.log_figure(run_id, label_balance_figure(balance), "profile/label_balance.png")


def champion_version(client: MlflowClient, slug: str):
    try:
        return client.get_model_version_by_alias(slug, CHAMPION_ALIAS)
    except MlflowException:
        return None


def champion_metric(client: MlflowClient, slug: str, metric: str) -> tuple[Any, float | None]:
    version = champion_version(client, slug)
    if version is None or not version.run_id:
        return version, None
    try:
        value = client.get_run(version.run_id).data.metrics.get(metric)
    except MlflowException:
        value = None
    return version, value


def is_better(candidate: float, current: float | None, greater_is_better: bool) -> bool:
    if current is None:
        return True
    return candidate > current if greater_is_better else candidate < current


def promote_if_better(client: MlflowClient, pilot: Pilot, run_id: str, model_uri: str,
                      metrics: Mapping[str, float]) -> bool:
    """Register the run's model as `<slug>` and move the `champion` alias when it beats the current one."""
    metric = pilot.manifest.metric
    value = metrics.get(metric.name)
    if value is None:
        return False
    _, current = champion_metric(client, pilot.slug, metric.name)
    if not is_better(value, current, metric.greater_is_better):
        return False
    try:
        client.get_registered_model(pilot.slug)
    except MlflowException:
        client.create_registered_model(pilot.slug, description=pilot.manifest.question,
                                       tags={TAG_PILOT: pilot.slug, TAG_OWNER: pilot.manifest.owner})
    version = mlflow.register_model(model_uri, pilot.slug, tags={metric.name: f"{value:.4f}"})
    client.set_registered_model_alias(pilot.slug, CHAMPION_ALIAS, version.version)
    client.set_tag(run_id, TAG_CHAMPION_VERSION, version.version)
    return True


@dataclass
class RunRow:
    run_id: str
    organisation: str
    user: str
    kind: str
    start_time: int
    metrics: dict[str, float]
    pilot: str = ""  # the experiment (pilot slug) the run belongs to
    data_hash: str = ""  # the hash of the data it was trained and tested on (runs on the same data compare)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "pilot": self.pilot,
            "organisation": self.organisation,
            "user": self.user,
            "kind": self.kind,
            "start_time": pd.Timestamp(self.start_time, unit="ms").isoformat() if self.start_time else None,
            "metrics": self.metrics,
        }


def compare_runs(client: MlflowClient, experiment_id: str | Sequence[str], metric: str, greater_is_better: bool = True,
                 by: str | None = None, page_size: int = 10000) -> list[RunRow]:
    """Finished runs best first on `metric`; with by="organisation", the best run per organisation.

    `experiment_id` may be several experiments (a pilot's family: the original and its forks), whose
    runs are then ranked together; each row says which pilot (experiment name) it came from.
    Ordering happens here, not in the store: MLflow's SQL ordering on a metric joins per run and was
    3x slower over 5,000 runs than fetching large pages and sorting in Python (bench/tracking.py).
    """
    ids = [experiment_id] if isinstance(experiment_id, str) else list(experiment_id)
    if not ids:
        return []
    names: dict[str, str] = {}
    rows: list[RunRow] = []
    token = None
    while True:
        page = client.search_runs(
            ids, filter_string="attributes.status = 'FINISHED'", run_view_type=ViewType.ACTIVE_ONLY,
            max_results=page_size, page_token=token,
        )
        for run in page:
            tags = run.data.tags
            experiment = run.info.experiment_id
            if experiment not in names:
                names[experiment] = client.get_experiment(experiment).name
            rows.append(RunRow(run.info.run_id, tags.get(TAG_ORG, "?"), tags.get(TAG_USER, "?"),
                               tags.get(TAG_KIND, "model"), run.info.start_time or 0, dict(run.data.metrics),
                               names[experiment], tags.get(TAG_DATA_HASH, "")))
        token = page.token
        if not token:
            break
    sign = -1 if greater_is_better else 1
    rows.sort(key=lambda r: (metric not in r.metrics, sign * r.metrics.get(metric, 0.0), -r.start_time))
    if by == "organisation":
        best: dict[str, RunRow] = {}
        for row in rows:
            best.setdefault(row.organisation, row)
        rows = list(best.values())
    return rows
