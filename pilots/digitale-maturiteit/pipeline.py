"""Digitale maturiteit: scores per DigComp 2.2 area, profiles by clustering, a training track per profile.

Respondents are split into a part to find the profiles on and a part to measure them on (silhouette:
how clearly a respondent the model did not see belongs to one profile).
The baseline makes profiles from bands of the overall score, without clustering.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from proeftuin.data import read_table
from proeftuin.engines.survey import (
    ITEMS,
    SurveyProfiler,
    check_answers,
    fit_level_bands,
    fit_profiles,
    profile_metrics,
)

HERE = Path(__file__).parent


def load_data(params: dict) -> pd.DataFrame:
    """The answers (one row per respondent, items 1-5) with organisation and target group."""
    path = Path(str(params["data_path"]))
    frame = read_table(path if path.is_absolute() else HERE / path, ["organisatie", "doelgroep", *ITEMS])
    frame = check_answers(frame)
    max_rows = int(params.get("max_rows", 0))
    return frame.head(max_rows).reset_index(drop=True) if max_rows else frame


def train(data: pd.DataFrame, params: dict) -> SurveyProfiler:
    return fit_profiles(data, int(params["n_profiles"]), int(params.get("seed", 42)))


def train_baseline(data: pd.DataFrame, params: dict) -> SurveyProfiler:
    """Equal-width bands of the overall score: the profiles to beat."""
    return fit_level_bands(data, int(params["n_profiles"]))


def evaluate(model: SurveyProfiler, data: pd.DataFrame) -> dict[str, float]:
    return profile_metrics(model, data)
