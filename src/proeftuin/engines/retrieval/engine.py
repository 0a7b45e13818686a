"""The retrieval engine (proeftuin.engines.registry): how runs, models and the CLI log and load a `Retriever`.

Registered as `proeftuin.engines.retrieval:ENGINE` (the package re-exports it).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from proeftuin.engines.language.encoders import encoder_requirements
from proeftuin.engines.registry import Engine
from proeftuin.engines.retrieval.retriever import Retriever


def _requirements(model: Retriever) -> list[str]:
    """What the re-ranking model needs (torch and transformers, or the USE package), when there is one."""
    name = model.config.rerank_model
    return encoder_requirements(name) if name else []


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
