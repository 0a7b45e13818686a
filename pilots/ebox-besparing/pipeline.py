"""eBox-besparing: what a measure saves per year, and how fast adoption grows.

The calculation multiplies yearly volumes by unit savings (data/eenheden.csv); savings that need an
activated recipient are scaled by the activation rate. The forecast fits a logistic growth curve to the
monthly activation figures; the last `holdout_months` months are kept apart to measure it honestly.
The baseline is a straight line through the same months.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from proeftuin.engines.scenario import (
    AdoptionCurve,
    ScenarioModel,
    forecast_metrics,
    read_adoption,
    read_units,
    read_volumes,
)
from proeftuin.errors import DataError

HERE = Path(__file__).parent


def _path(params: dict, key: str) -> Path:
    path = Path(str(params[key]))
    return path if path.is_absolute() else HERE / path


def load_data(params: dict) -> pd.DataFrame:
    """The monthly activation series (`maand`, `activatie`), oldest month first."""
    return read_adoption(_path(params, "data_path"))


def split(data: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit on the older months, measure on the latest ones (a forecast is judged on the future)."""
    holdout = int(params.get("holdout_months", 6))
    if len(data) - holdout < 3:
        raise DataError(f"Te weinig maanden ({len(data)}) om er {holdout} apart te houden voor de test.",
                        "Geef meer maanden of kies een kleinere holdout_months, bv. --param holdout_months=3.")
    return data.iloc[:-holdout].reset_index(drop=True), data.iloc[-holdout:].reset_index(drop=True)


def _scenario(data: pd.DataFrame, params: dict, kind: str) -> ScenarioModel:
    units = read_units(_path(params, "units_path"))
    rate = float(params["activation_rate"])
    if not 0.0 <= rate <= 1.0:
        raise DataError(f"activation_rate moet tussen 0 en 1 liggen, niet {rate}.", "Bv. --param activation_rate=0.4")
    return ScenarioModel(units=units, volumes=read_volumes(_path(params, "volumes_path"), units), activation=rate,
                         adoption=AdoptionCurve.fit(data["activatie"], kind), months=data["maand"].tolist())


def train(data: pd.DataFrame, params: dict) -> ScenarioModel:
    return _scenario(data, params, "logistic")


def train_baseline(data: pd.DataFrame, params: dict) -> ScenarioModel:
    """A straight line through the monthly figures: the forecast to beat."""
    return _scenario(data, params, "linear")


def evaluate(model: ScenarioModel, data: pd.DataFrame) -> dict[str, float]:
    """Forecast error on months the curve did not see, and the yearly saving at the chosen rate."""
    return forecast_metrics(model, data)
