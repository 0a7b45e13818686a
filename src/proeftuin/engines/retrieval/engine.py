"""The retrieval engine (proeftuin.engines.registry): how runs, models and the CLI log and load a `Retriever`.

Registered as `proeftuin.engines.retrieval:ENGINE` (the package re-exports it).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from proeftuin.engines.registry import Engine
from proeftuin.engines.retrieval.encoder import PACKAGED_MODELS
from proeftuin.engines.retrieval.retriever import Retriever

#: What an embedding model adds (kennisbank with rerank_model); the packaged MiniLM only when it is used.
EMBEDDING_REQUIREMENTS = ("torch", "transformers")


def _requirements(model: Retriever) -> list[str]:
    """torch and transformers, plus the package that ships the model when it is a packaged one."""
    name = model.config.rerank_model
    if not name:
        return []
    module = PACKAGED_MODELS.get(name.strip().lower())
    return [*EMBEDDING_REQUIREMENTS, *([module.replace("_", "-")] if module else [])]


def _summarise(predictions: pd.DataFrame, path: Path) -> str:
    return f"{len(predictions)} rijen geschreven naar {path}: per vraag de best passende passages met hun bron."


ENGINE = Engine(
    name="retrieval",
    task="retrieval",
    model_type=Retriever,
    save=lambda model, folder: {"index": str(model.save(folder / "index"))},
    load=lambda artifacts, config: Retriever.load(Path(artifacts["index"])),
    requirements=_requirements,
    input_column="vraag",
    column_parameter="question_column",
    summarise=_summarise,
)
