"""One tracked run of a pilot: load, split, train, evaluate on held-out data, log, maybe promote."""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from sklearn.model_selection import train_test_split

from proeftuin import tracking
from proeftuin.data import frame_hash
from proeftuin.engines.registry import engine_for_model
from proeftuin.errors import DataError, ProeftuinError
from proeftuin.models import log_model
from proeftuin.pilot import Pilot
from proeftuin.privacy import scrub_frame
from proeftuin.settings import Settings

Progress = Callable[[str], None]
LABEL = "label"
TEXT = "text"


@dataclass
class RunResult:
    run_id: str
    model_uri: str
    metrics: dict[str, float]
    champion: bool
    kind: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def split(pilot: Pilot, data: pd.DataFrame, params: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pilot's own split if it defines one, else a stratified hold-out split."""
    module = pilot.pipeline()
    if callable(getattr(module, "split", None)):
        return module.split(data, params)
    test_size = float(params.get("test_size", 0.2))
    seed = int(params.get("seed", 42))
    stratify = None
    if LABEL in data and data[LABEL].value_counts().min() >= 2:
        stratify = data[LABEL]
    if len(data) < 4:
        raise DataError(f"Te weinig rijen om te trainen en te testen ({len(data)}).",
                        "Gebruik een bestand met meer voorbeelden.")
    train, test = train_test_split(data, test_size=test_size, random_state=seed, stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def load_pilot_data(pilot: Pilot, params: dict[str, Any]) -> pd.DataFrame:
    """The pilot's data; scrubbed of personal data first when its manifest says it holds some."""
    data = pilot.pipeline().load_data(params)
    if pilot.manifest.personal_data and TEXT in data:
        skipped = data.attrs.get("skipped_empty", 0)
        data, counts = scrub_frame(data, [TEXT])
        data.attrs.update(skipped_empty=skipped, scrubbed=counts)
    return data


def run_pilot(
    settings: Settings,
    pilot: Pilot,
    organisation: str,
    overrides: dict[str, str] | None = None,
    data_path: Path | None = None,
    baseline: bool = False,
    progress: Progress = lambda _: None,
) -> RunResult:
    settings.organisation(organisation)  # unknown organisation: clear error before any work
    params = pilot.params(overrides)
    if data_path is not None:
        params["data_path"] = str(data_path)
    module = pilot.pipeline()
    trainer = getattr(module, "train_baseline", None) if baseline else module.train
    if trainer is None:
        raise ProeftuinError(f"Pilot {pilot.slug} heeft geen baseline (train_baseline ontbreekt in pipeline.py).")

    client = tracking.connect(settings)  # before training: a dead server fails fast, nothing is lost
    progress("Data laden…")
    data = load_pilot_data(pilot, params)
    train, test = split(pilot, data, params)
    progress(f"Trainen op {len(train)} rijen ({'baseline' if baseline else 'model'})…")
    model = trainer(train, params)
    progress(f"Evalueren op {len(test)} rijen die het model niet zag…")
    metrics = {k: float(v) for k, v in module.evaluate(model, test).items()}
    metrics["skipped_empty"] = float(data.attrs.get("skipped_empty", 0))
    metrics["train_rows"], metrics["test_rows"] = float(len(train)), float(len(test))
    for kind_, count in data.attrs.get("scrubbed", {}).items():
        metrics[f"privacy_{kind_}"] = float(count)

    progress("Resultaten opslaan in MLflow…")
    kind = "baseline" if baseline else "model"
    experiment_id = tracking.ensure_experiment(client, pilot, settings)
    tags = tracking.run_tags(pilot, organisation, frame_hash(data), kind, settings)
    run_name = f"{organisation}-{kind}"
    # MLflow writes "View run at" links to stdout; keep stdout for the command's own (JSON) output.
    with contextlib.redirect_stdout(sys.stderr), \
            mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags) as run:
        run_id = run.info.run_id
        tracking.log_params(client, run_id, params)
        tracking.log_metrics_batch(client, run_id, metrics)
        label = LABEL if LABEL in data else None
        profile = tracking.dataset_profile(data, label, TEXT if TEXT in data else None)
        tracking.log_dataset_profile(client, run_id, profile)
        with tempfile.TemporaryDirectory(prefix="proeftuin-") as tmp:
            model_uri = log_model(model, Path(tmp), test)
        _log_evaluation_artifacts(client, run_id, pilot, model, test, metrics, params, kind)
    champion = False
    if not baseline:
        champion = tracking.promote_if_better(client, pilot, run_id, model_uri, metrics)
    return RunResult(run_id=run_id, model_uri=model_uri, metrics=metrics, champion=champion, kind=kind)


def _log_evaluation_artifacts(client, run_id: str, pilot: Pilot, model: Any, test: pd.DataFrame,
                              metrics: dict[str, float], params: dict[str, Any], kind: str) -> None:
    """Model card, then the plots and tables of the model's engine (e.g. a confusion matrix)."""
    from proeftuin.modelcard import model_card

    client.log_text(run_id, model_card(pilot, metrics, params, kind, model), "model_card.md")
    engine_for_model(model).log_artifacts(client, run_id, model, test)
