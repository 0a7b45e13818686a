"""One registry of engines: what runs, models, the model card and the CLI need to know about a kind of model.

An engine (text routing, retrieval, scenario, survey, or one added later) is an `Engine` value that its own
module defines as `ENGINE`, at its bottom. Engines are found through entry points in the group
`proeftuin.engines`, named after the manifest task they serve (`task:` in pilot.yaml). The built-in engines
are such entry points too (`DEFAULT_ENGINES`), and they go through the same `register()` as an engine from
another package, declared in its pyproject.toml:

    [project.entry-points."proeftuin.engines"]
    forecast = "my_package.forecast:ENGINE"

Entry points are loaded only when an engine is needed, so the task names (`tasks()`) are known without
importing any engine module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import pandas as pd

from proeftuin.errors import ProeftuinError

GROUP = "proeftuin.engines"
#: The built-in engines, registered like any other (Datasette's DEFAULT_PLUGINS): name = the task they serve.
DEFAULT_ENGINES = (
    EntryPoint("classification", "proeftuin.engines.textclf:ENGINE", GROUP),
    EntryPoint("retrieval", "proeftuin.engines.retrieval:ENGINE", GROUP),
    EntryPoint("scenario", "proeftuin.engines.scenario:ENGINE", GROUP),
    EntryPoint("clustering", "proeftuin.engines.survey:ENGINE", GROUP),
)


def _no_config(model: Any) -> dict[str, Any]:
    return {}


def _no_requirements(model: Any) -> list[str]:
    return []


def _no_example(model: Any, test: pd.DataFrame) -> pd.DataFrame | None:
    return None


def _no_artifacts(client: Any, run_id: str, model: Any, test: pd.DataFrame) -> None:
    return None


def _type_name(model: Any) -> str:
    return type(model).__name__


def _rows_written(predictions: pd.DataFrame, path: Path) -> str:
    return f"{len(predictions)} rijen geschreven naar {path}."


@dataclass(frozen=True)
class Engine:
    """A kind of model, and how to store, load, log and describe it.

    save(model, folder) writes the model's files and returns MLflow artifacts (name -> path); load(artifacts,
    config) builds the model again from those files (local paths) and config(model), the model config stored
    beside them. The model itself has `predict(frame) -> frame`. requirements(model) lists what the model needs
    beyond the platform's base packages; signature_example(model, test) is a small input frame to infer an
    MLflow signature from (None: no signature); log_artifacts(client, run_id, model, test) logs the engine's
    plots and tables of a run; describe(model) names the model on its model card.

    `proeftuin predict` reads a CSV and writes one row of predictions per row when predicts_rows: the column
    `input_column` (named by the pilot parameter `column_parameter` in the CSV, scrubbed when the pilot holds
    personal data), or all columns when it is None; summarise(predictions, path) is the sentence it prints.
    An engine that does not predict rows says in `instead` what a person can do instead.
    """

    name: str
    task: str
    model_type: type
    save: Callable[[Any, Path], dict[str, str]]
    load: Callable[[dict[str, str], dict[str, Any]], Any]
    config: Callable[[Any], dict[str, Any]] = _no_config
    requirements: Callable[[Any], list[str]] = _no_requirements
    signature_example: Callable[[Any, pd.DataFrame], pd.DataFrame | None] = _no_example
    log_artifacts: Callable[[Any, str, Any, pd.DataFrame], None] = _no_artifacts
    describe: Callable[[Any], str] = _type_name
    predicts_rows: bool = True
    input_column: str | None = None
    column_parameter: str | None = None
    summarise: Callable[[pd.DataFrame, Path], str] = _rows_written
    instead: str = ""


def save_json(model: Any, folder: Path) -> dict[str, str]:
    """`save` of a model that is plain data (`to_json()`): one JSON artifact, no pickle."""
    path = folder / "model.json"
    path.write_text(model.to_json(), encoding="utf-8")
    return {"model": str(path)}


def json_loader(model_type: Any) -> Callable[[dict[str, str], dict[str, Any]], Any]:
    """`load` of a model saved by `save_json`: `model_type.from_json(text)`."""

    def load(artifacts: dict[str, str], config: dict[str, Any]) -> Any:
        return model_type.from_json(Path(artifacts["model"]).read_text(encoding="utf-8"))

    return load


_entry_points: dict[str, EntryPoint] = {}  # by task
_engines: dict[str, Engine] = {}  # by task: the loaded ones, and those registered as an Engine
_discovered = False


def register(engine: EntryPoint | Engine) -> None:
    """Add an engine: an entry point named after its task (loaded when needed) or an Engine itself.

    Registering the same engine again changes nothing; another engine for a task that has one is an error.
    """
    _discover()
    _register(engine)


def _register(engine: EntryPoint | Engine) -> None:
    if isinstance(engine, Engine):
        if engine.task in _entry_points or engine.task in _engines:
            if _load(engine.task) is not engine:
                _conflict(engine.task, engine.name)
            return
        _engines[engine.task] = engine
        return
    # an entry point (not always importlib.metadata's class: the importlib_metadata backport has its own)
    known = _entry_points.get(engine.name)
    if known is not None and known.value == engine.value:
        return
    if known is not None or engine.name in _engines:
        _conflict(engine.name, engine.value)
    _entry_points[engine.name] = engine


def _conflict(task: str, new: str) -> None:
    known = _engines[task].name if task in _engines else _entry_points[task].value
    raise ProeftuinError(f"Er is al een engine voor de taak '{task}' ({known}), dus niet ook {new}.",
                         "Geef de nieuwe engine een eigen taak (de naam van zijn entry point in de groep "
                         f"{GROUP}) of verwijder een van de twee pakketten.")


def _discover() -> None:
    """The built-in engines, then those of installed packages (once per process)."""
    global _discovered
    if not _discovered:
        for entry in (*DEFAULT_ENGINES, *entry_points(group=GROUP)):
            _register(entry)
        _discovered = True


def _load(task: str) -> Engine:
    if task in _engines:
        return _engines[task]
    entry = _entry_points[task]
    try:
        engine = entry.load()
    except Exception as exc:  # a broken plugin names itself
        raise ProeftuinError(f"De engine voor de taak '{task}' ({entry.value}) kan niet geladen worden: {exc}",
                             "Installeer het pakket van die engine opnieuw, of verwijder het.") from exc
    if not isinstance(engine, Engine) or engine.task != task:
        raise ProeftuinError(f"{entry.value} is geen engine voor de taak '{task}'.",
                             f"Het entry point '{task}' in de groep {GROUP} moet naar een Engine met "
                             f"task='{task}' wijzen.")
    _engines[task] = engine
    return engine


def tasks() -> list[str]:
    """The manifest tasks an engine serves, without importing any engine module."""
    _discover()
    return sorted({*_engines, *_entry_points})


def engines() -> list[Engine]:
    """Every registered engine (loads them all)."""
    return [_load(task) for task in tasks()]


def engine_for_task(task: str) -> Engine:
    _discover()
    if task not in _engines and task not in _entry_points:
        raise ProeftuinError(f"Geen engine voor de taak '{task}'.",
                             f"Kies in pilot.yaml een van deze taken: {', '.join(tasks())}; of installeer het "
                             "pakket dat een engine voor deze taak levert.")
    return _load(task)


def _in_order(hint: str = "") -> list[str]:
    """Tasks to try one by one: loaded engines first, then entry points whose module mentions `hint`, then the
    rest in the order they were registered (the built-ins first). Loading stops at the first match, so an
    engine that is not needed is not imported, and a broken plugin does not stop the others."""
    waiting = [t for t in _entry_points if t not in _engines]
    return [*_engines, *sorted(waiting, key=lambda t: not hint or hint not in _entry_points[t].module)]


def engine_named(name: str) -> Engine:
    """The engine called `name` (as stored with a logged model)."""
    _discover()
    for task in _in_order(name):
        if _load(task).name == name:
            return _load(task)
    raise ProeftuinError(f"Geen engine met de naam '{name}' (nodig voor dit model).",
                         f"Bekende engines: {', '.join(e.name for e in engines())}. Installeer het pakket "
                         "waarmee het model gemaakt is, of train het model opnieuw met `proeftuin run`.")


def engine_for_model(model: Any) -> Engine:
    """The engine that handles this (native) model."""
    _discover()
    for task in _in_order(type(model).__module__):
        if isinstance(model, _load(task).model_type):
            return _load(task)
    raise ProeftuinError(f"Geen engine kent een model van type {type(model).__name__}.",
                         f"train() in pipeline.py moet een model van een van deze soorten geven: "
                         f"{', '.join(e.model_type.__name__ for e in engines())}; of registreer een engine "
                         "voor dit soort model (zie proeftuin.engines.registry).")
