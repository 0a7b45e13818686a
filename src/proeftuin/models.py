"""Logging and loading pilot models with MLflow, without pickle.

Estimators are stored with skops (a safe format: loading checks every type against an allow-list)
and served through a "models from code" pyfunc, so `mlflow.pyfunc.load_model(uri)` works in a new
process even with MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from proeftuin.engines.registry import engine_for_model, engine_named
from proeftuin.engines.textclf import TRUSTED_NAMES, TRUSTED_PREFIXES, load_estimator, save_estimator  # noqa: F401
from proeftuin.errors import ProeftuinError

# The skops writer and its allow-list (TRUSTED_*) belong to the text engine, whose estimators are the skops
# files; they are imported here under the names that code, tests and notebooks have always used.

MODEL_NAME = "model"
ENTRY_DIR = Path(__file__).parent / "mlflow_models"
#: The key of the model config that names the model's engine (proeftuin.engines.registry).
ENGINE_KEY = "engine"


class EngineModel(mlflow.pyfunc.PythonModel):
    """pyfunc face of any engine's model: the model config names the engine, which loads the artifacts."""

    #: Fixed by the classes that models logged before the registry name in their entry file.
    engine_name: str | None = None

    def load_context(self, context: Any) -> None:
        config = dict(context.model_config or {})
        name = config.pop(ENGINE_KEY, None) or self.engine_name
        if not name:
            raise ProeftuinError("Dit model zegt niet met welke engine het gemaakt is.",
                                 "Train het model opnieuw met `proeftuin run <pilot>`.")
        self.engine = engine_named(name)
        self.model = self.engine.load(dict(context.artifacts), config)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        return self.model.predict(model_input)


class TextRouterModel(EngineModel):
    """pyfunc face of a TextRouter (entry file of models logged before the registry): `text` in, routes out."""

    engine_name = "textclf"

    @property
    def router(self) -> Any:
        return self.model


class ScenarioPyfunc(EngineModel):
    """pyfunc face of a ScenarioModel (JSON), as logged before the registry."""

    engine_name = "scenario"

    @property
    def scenario(self) -> Any:
        return self.model


class SurveyPyfunc(EngineModel):
    """pyfunc face of a SurveyProfiler (JSON), as logged before the registry."""

    engine_name = "survey"

    @property
    def profiler(self) -> Any:
        return self.model


class RetrieverPyfunc(EngineModel):
    """pyfunc face of a Retriever (sparse matrices + JSON), as logged before the registry."""

    engine_name = "retrieval"

    @property
    def retriever(self) -> Any:
        return self.model


def native(model: Any) -> Any:
    """The engine's own model (a TextRouter, a Retriever, ...) behind a loaded pyfunc model, or `model` itself."""
    if hasattr(model, "unwrap_python_model"):
        model = model.unwrap_python_model()
    return model.model if isinstance(model, EngineModel) else model


BASE_REQUIREMENTS = ("scikit-learn", "skops", "pandas", "numpy", "scipy")


def _requirements(extra: tuple[str, ...] = ()) -> list[str]:
    pins = []
    for dist in dict.fromkeys(BASE_REQUIREMENTS + extra):
        try:
            pins.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pins.append(dist)
    return pins


def log_model(model: Any, workdir: Path, test: pd.DataFrame | None = None) -> str:
    """Log a native model with its engine in the active run; returns the URI `mlflow.pyfunc.load_model` accepts.

    `test` (held-out rows) gives the engine an example to infer the signature from.
    """
    engine = engine_for_model(model)
    artifacts = engine.save(model, workdir)
    example = None if test is None else engine.signature_example(model, test)
    signature = None if example is None else mlflow.models.infer_signature(example, model.predict(example))
    info = mlflow.pyfunc.log_model(
        name=MODEL_NAME,
        python_model=str(ENTRY_DIR / "engine.py"),
        artifacts=artifacts,
        model_config={ENGINE_KEY: engine.name, **engine.config(model)},
        signature=signature,
        pip_requirements=_requirements(tuple(engine.requirements(model))),
    )
    return info.model_uri


def log_text_router(router: Any, workdir: Path, example_texts: list[str]) -> str:
    """`log_model` for a TextRouter, with example texts for its signature (kept for existing callers)."""
    return log_model(router, workdir, pd.DataFrame({"text": example_texts}))


def log_retriever(model: Any, workdir: Path) -> str:
    """`log_model` for a Retriever (kept for existing callers)."""
    return log_model(model, workdir)


def log_json_model(model: Any, workdir: Path, entry: str = "") -> str:
    """`log_model` for a scenario or survey model (kept for existing callers; `entry` is no longer needed)."""
    return log_model(model, workdir)


def load_model(uri: str) -> Any:
    """A pyfunc model from a run or the registry, with a Dutch message when it does not exist."""
    try:
        return mlflow.pyfunc.load_model(uri)
    except mlflow.exceptions.MlflowException as exc:
        raise ProeftuinError(
            f"Model {uri} kan niet geladen worden: {exc.message.splitlines()[0]}",
            "Train eerst een model met `proeftuin run <pilot>`, of geef een bestaand model mee met --model.",
        ) from None
