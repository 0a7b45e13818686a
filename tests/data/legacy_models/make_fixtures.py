"""Build the legacy model fixtures: one MLflow model per engine, logged by the OLD code exactly as `proeftuin run` does.

tests/test_compat.py loads these folders with the current code to prove that models logged before the module move
(issue 15) still load and predict the same. Regenerate them only from the old layout, never from the new one:

    git -C /work/main worktree add /tmp/legacy-src 266fccd
    PYTHONPATH=/tmp/legacy-src/src /work/main/.venv/bin/python tests/data/legacy_models/make_fixtures.py
    git -C /work/main worktree remove /tmp/legacy-src --force

The script trains on the old worktree's own pilots (found next to the imported `proeftuin` package), as
`proeftuin.runs.run_pilot` does (pilot.pipeline().load_data, the pilot's split, train), on a small sample so the
folders stay small, and logs with the project's functions (`log_text_router`, `log_retriever`, `log_json_model`)
in a run against a throwaway SQLite store. Each fixture folder gets `model/` (the downloaded MLflow model),
`input.json` (records) and `expected.json` (the old code's predictions on them, as records).
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mlflow
import pandas as pd

import proeftuin
from proeftuin.models import log_json_model, log_retriever, log_text_router
from proeftuin.pilot import load_pilot
from proeftuin.runs import load_pilot_data, split

OUT = Path(__file__).resolve().parent
LEGACY_ROOT = Path(proeftuin.__file__).resolve().parents[2]  # the checkout whose code is imported
PILOTS = LEGACY_ROOT / "pilots"
#: Departments of the text-router sample, 15 questions each (60 rows), texts clipped so the vocabulary stays small.
ROUTER_DEPARTMENTS = ("Minister van Justitie", "Minister van Sociale Zaken en Volksgezondheid",
                      "Minister van Defensie, belast met Ambtenarenzaken",
                      "Minister van Energie, Leefmilieu en Duurzame Ontwikkeling")
ROUTER_ROWS_PER_DEPARTMENT = 15
ROUTER_CLIP = 150


def records(frame: pd.DataFrame) -> list[dict]:
    """DataFrame rows as JSON-ready dicts: NaN becomes null, numpy scalars plain Python."""
    rows = json.loads(frame.to_json(orient="records", force_ascii=False, double_precision=15))
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()} for row in rows]


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def log_and_download(log, target: Path) -> None:
    """Run `log(workdir)` (it returns the model URI) in a fresh run of a throwaway store; copy the model to target."""
    with tempfile.TemporaryDirectory(prefix="legacy-fixture-") as tmp:
        tmp_path = Path(tmp)
        mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
        experiment = mlflow.create_experiment("legacy", artifact_location=(tmp_path / "artifacts").as_uri())
        work = tmp_path / "work"
        work.mkdir()
        with mlflow.start_run(experiment_id=experiment):
            uri = log(work)
        local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path / "download"))
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(local, target)
        mlflow.set_tracking_uri(None)


def save_fixture(name: str, log, model_input: pd.DataFrame, predict) -> None:
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    log_and_download(log, folder / "model")
    write_json(folder / "input.json", records(model_input))
    write_json(folder / "expected.json", records(predict(model_input)))


def pilot_split(slug: str, overrides: dict[str, str], data_path: Path | None = None):
    """(pilot, params, train, test) exactly as run_pilot gets them."""
    pilot = load_pilot(PILOTS / slug)
    params = pilot.params(overrides)
    if data_path is not None:
        params["data_path"] = str(data_path)
    data = load_pilot_data(pilot, params)
    train, test = split(pilot, data, params)
    return pilot, params, train, test


def router_sample(target: Path) -> Path:
    """60 questions of four departments from the vragenrouter data, clipped to ROUTER_CLIP characters."""
    source = PILOTS / "vragenrouter" / "data" / "dekamer_2017_nl.csv"
    taken: dict[str, int] = dict.fromkeys(ROUTER_DEPARTMENTS, 0)
    rows = []
    with source.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            department = row["answer_department"]
            if department in taken and taken[department] < ROUTER_ROWS_PER_DEPARTMENT and row["question"].strip():
                taken[department] += 1
                rows.append({"question": row["question"][:ROUTER_CLIP], "answer_department": department})
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["question", "answer_department"])
        writer.writeheader()
        writer.writerows(rows)
    return target


def text_router() -> None:
    with tempfile.TemporaryDirectory(prefix="legacy-router-") as tmp:
        sample = router_sample(Path(tmp) / "sample.csv")
        pilot, params, train, test = pilot_split("vragenrouter", {"char_ngrams": "false", "threshold": "0.45"}, sample)
        model = pilot.pipeline().train(train, params)
    texts = [*test["text"].head(4).tolist(), "", "Vraag over de pensioenen van militairen"]
    model_input = pd.DataFrame({"text": texts})
    save_fixture("text_router", lambda work: log_text_router(model, work, test["text"].head(2).tolist()),
                 model_input, model.predict)


def retriever() -> None:
    pilot, params, train, test = pilot_split("kennisbank", {"max_rows": "40", "include_lessons": "false"})
    model = pilot.pipeline().train(train, params)
    questions = [*test["question"].head(4).tolist(), "Hoe vraag ik een nieuw paspoort aan?", ""]
    save_fixture("retriever", lambda work: log_retriever(model, work), pd.DataFrame({"vraag": questions}),
                 model.predict)


def scenario() -> None:
    pilot, params, train, _ = pilot_split("ebox-besparing", {})
    model = pilot.pipeline().train(train, params)
    model_input = pd.DataFrame([
        {},  # the pilot's own volumes and activation rate
        {"activatie": 0.75},
        {"ebox_gewone_brief": 50000, "handtekening_digitaal": 1200, "activatie": 0.2},
        {"ebox_bulk_aangetekend": 3000.5, "ebox_aangetekende_brief": 0, "activatie": 1},
    ])
    save_fixture("scenario", lambda work: log_json_model(model, work, "scenario.py"), model_input, model.predict)


def survey() -> None:
    pilot, params, train, test = pilot_split("digitale-maturiteit", {})
    model = pilot.pipeline().train(train, params)
    model_input = test.drop(columns=["respondent"], errors="ignore").head(5).reset_index(drop=True)
    save_fixture("survey", lambda work: log_json_model(model, work, "survey.py"), model_input, model.predict)


def main() -> None:
    commit = subprocess.run(["git", "-C", str(LEGACY_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    if LEGACY_ROOT == OUT.parents[2]:
        sys.exit(f"proeftuin is imported from {LEGACY_ROOT}, not from an old worktree: set PYTHONPATH (see docstring).")
    for build in (text_router, retriever, scenario, survey):
        build()
    (OUT / "README.md").write_text(
        "# Models logged by the code before the module move\n\n"
        f"Made by commit {commit} (`{LEGACY_ROOT.name}` worktree) with `make_fixtures.py` (see its docstring); "
        "loaded and checked by `tests/test_compat.py`. Do not regenerate them with the new layout.\n",
        encoding="utf-8")
    sizes = {p.name: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) for p in OUT.iterdir() if p.is_dir()}
    print(json.dumps({"commit": commit, "proeftuin": proeftuin.__file__, "bytes": sizes}, indent=1))


if __name__ == "__main__":
    main()
