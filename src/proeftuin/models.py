"""Logging and loading pilot models with MLflow, without pickle.

Estimators are stored with skops (a safe format: loading checks every type against an allow-list)
and served through a "models from code" pyfunc, so `mlflow.pyfunc.load_model(uri)` works in a new
process even with MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false.
"""

from __future__ import annotations

import io
import json
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import skops
import skops.io

from proeftuin.engines.textclf import TEXT_FIELD, TextRouter
from proeftuin.errors import ProeftuinError

MODEL_NAME = "model"
ENTRY_DIR = Path(__file__).parent / "mlflow_models"
# Types a skops file may contain. Anything else (a custom class, a callable from elsewhere) is refused.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")
# A text model names the function by the module it lived in when it was saved (before 0.x: proeftuin.textclf).
TRUSTED_NAMES = {"proeftuin.engines.textclf.emphasise_title", "proeftuin.textclf.emphasise_title"}


def save_estimator(estimator: Any, path: Path) -> Path:
    """skops.io.dump, with its schema.json written without indentation. skops indents it (json's pure-Python
    encoder), most of the time to save a text model: vragenrouter on 300 rows takes 5.7 s with skops.io.dump
    and 1.5 s like this, and 43 of its 143 MB were spaces. Same members, arrays and schema, so it loads and
    predicts the same (tested). Falls back to skops.io.dump when skops' internals moved."""
    try:
        from skops.io._persist import _save  # noqa: F401 (importing it registers skops' state functions)
        from skops.io._utils import SaveContext, get_state
    except ImportError:
        skops.io.dump(estimator, path)
        return path
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        context = SaveContext(zip_file=archive)
        state = get_state(estimator, context)
        context.clear_memo()
        state["protocol"] = context.protocol
        state["_skops_version"] = skops.__version__
        archive.writestr("schema.json", json.dumps(state))
    Path(path).write_bytes(buffer.getbuffer())
    return path


def load_estimator(path: str | Path) -> Any:
    untrusted = skops.io.get_untrusted_types(file=path)
    refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES) and t not in TRUSTED_NAMES]
    if refused:
        raise ProeftuinError(
            f"Het model in {path} bevat types die niet vertrouwd worden: {', '.join(refused)}.",
            "Train het model opnieuw met `proeftuin run`; laad geen modellen van onbekende herkomst.",
        )
    return skops.io.load(path, trusted=untrusted)


class TextRouterModel(mlflow.pyfunc.PythonModel):
    """pyfunc face of a TextRouter: input a `text` column, output the routing table."""

    router: TextRouter

    def load_context(self, context: Any) -> None:
        config = dict(context.model_config or {})
        estimator = load_estimator(context.artifacts["estimator"])
        self.router = TextRouter(estimator, **config)
        self.router.warm_up()  # loaded once, shared by every visitor: pay the first-use costs now

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        return self.router.predict(model_input)


BASE_REQUIREMENTS = ("scikit-learn", "skops", "pandas", "numpy", "scipy")
#: What an embedding model adds (kennisbank with rerank_model); the packaged MiniLM only when it is used.
EMBEDDING_REQUIREMENTS = ("torch", "transformers")


def _requirements(extra: tuple[str, ...] = ()) -> list[str]:
    pins = []
    for dist in BASE_REQUIREMENTS + extra:
        try:
            pins.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pins.append(dist)
    return pins


def log_text_router(router: TextRouter, workdir: Path, example_texts: list[str]) -> str:
    """Log the router in the active run; returns the URI `mlflow.pyfunc.load_model` accepts."""
    estimator_path = save_estimator(router.estimator, workdir / "estimator.skops")
    example = pd.DataFrame({TEXT_FIELD: example_texts[:2]})
    signature = mlflow.models.infer_signature(example, router.predict(example))
    info = mlflow.pyfunc.log_model(
        name=MODEL_NAME,
        python_model=str(ENTRY_DIR / "text_router.py"),
        artifacts={"estimator": str(estimator_path)},
        model_config=router.config(),
        signature=signature,
        pip_requirements=_requirements(),
    )
    return info.model_uri


class ScenarioPyfunc(mlflow.pyfunc.PythonModel):
    """pyfunc face of a ScenarioModel (stored as JSON): one scenario per row, savings per type out."""

    def load_context(self, context: Any) -> None:
        from proeftuin.engines.scenario import ScenarioModel

        self.scenario = ScenarioModel.from_json(Path(context.artifacts["model"]).read_text(encoding="utf-8"))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        return self.scenario.predict(model_input)


class SurveyPyfunc(mlflow.pyfunc.PythonModel):
    """pyfunc face of a SurveyProfiler (JSON): answers in, area scores, profile and training track out."""

    def load_context(self, context: Any) -> None:
        from proeftuin.engines.survey import SurveyProfiler

        self.profiler = SurveyProfiler.from_json(Path(context.artifacts["model"]).read_text(encoding="utf-8"))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        return self.profiler.predict(model_input)


class RetrieverPyfunc(mlflow.pyfunc.PythonModel):
    """pyfunc face of a Retriever (sparse matrices + JSON): a `vraag` column in, best passages out."""

    def load_context(self, context: Any) -> None:
        from proeftuin.engines.retrieval import Retriever

        self.retriever = Retriever.load(Path(context.artifacts["index"]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        return self.retriever.predict(model_input)


def _embedding_requirements(rerank_model: str) -> tuple[str, ...]:
    """torch and transformers, plus the package that ships the model when it is a packaged one."""
    if not rerank_model:
        return ()
    from proeftuin.engines.retrieval import PACKAGED_MODELS

    module = PACKAGED_MODELS.get(rerank_model.strip().lower())
    return EMBEDDING_REQUIREMENTS + ((module.replace("_", "-"),) if module else ())


def log_retriever(model: Any, workdir: Path) -> str:
    """Log a Retriever's index folder (no pickle) with its models-from-code entry; returns the model URI."""
    folder = model.save(workdir / "index")
    info = mlflow.pyfunc.log_model(
        name=MODEL_NAME,
        python_model=str(ENTRY_DIR / "retrieval.py"),
        artifacts={"index": str(folder)},
        pip_requirements=_requirements(_embedding_requirements(model.config.rerank_model)),
    )
    return info.model_uri


def log_json_model(model: Any, workdir: Path, entry: str) -> str:
    """Log a model that is plain data (`to_json()`) with its models-from-code entry; returns the model URI.

    No signature: inputs may come as integers or decimals, and MLflow refuses int where it logged float.
    """
    path = workdir / "model.json"
    path.write_text(model.to_json(), encoding="utf-8")
    info = mlflow.pyfunc.log_model(
        name=MODEL_NAME,
        python_model=str(ENTRY_DIR / entry),
        artifacts={"model": str(path)},
        pip_requirements=_requirements(),
    )
    return info.model_uri


def load_model(uri: str) -> Any:
    """A pyfunc model from a run or the registry, with a Dutch message when it does not exist."""
    try:
        return mlflow.pyfunc.load_model(uri)
    except mlflow.exceptions.MlflowException as exc:
        raise ProeftuinError(
            f"Model {uri} kan niet geladen worden: {exc.message.splitlines()[0]}",
            "Train eerst een model met `proeftuin run <pilot>`, of geef een bestaand model mee met --model.",
        ) from None
