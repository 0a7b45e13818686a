"""What-if calculations and an adoption forecast: the engine of `tabular-scenario` pilots.

A scenario is a table of unit savings (per document, or per batch of N documents), the yearly
volumes a municipality enters, and the share of recipients who can be reached digitally
(the activation rate). The adoption forecast is a logistic curve fitted to monthly activation
figures. Everything is plain numbers, so the model is stored as JSON (no pickle).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from proeftuin.data import read_table
from proeftuin.engines.registry import Engine, json_loader, save_json
from proeftuin.errors import DataError
from proeftuin.wording import euro, percent

UNIT_COLUMNS = ("type", "omschrijving", "besparing_eur", "per_aantal", "hangt_af_van_activatie")
VOLUME_COLUMNS = ("type", "volume_per_jaar")
ADOPTION_COLUMNS = ("maand", "activatie")
TOTAL = "totaal_eur"


@dataclass(frozen=True)
class UnitSaving:
    """Saving in euro per `per` documents; `needs_activation` when only activated recipients count."""

    type: str
    description: str
    saving_eur: float
    per: int = 1
    needs_activation: bool = False

    def saving(self, volume: float, activation: float) -> float:
        reach = activation if self.needs_activation else 1.0
        return volume / self.per * self.saving_eur * reach


def _number(value: Any) -> float:
    """A number from a CSV cell; accepts a decimal comma (Dutch Excel)."""
    if isinstance(value, str):
        value = value.strip().replace(" ", "")
        if "," in value and "." not in value:
            value = value.replace(",", ".")
    return float(value)


def _bool(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "ja", "yes", "waar"}


def read_units(path: Path) -> list[UnitSaving]:
    frame = read_table(path, list(UNIT_COLUMNS))
    units = []
    for i, row in frame.iterrows():
        try:
            saving, per = _number(row["besparing_eur"]), int(_number(row["per_aantal"]))
        except ValueError:
            raise DataError(f"{path.name}, rij {i + 2}: besparing_eur en per_aantal moeten getallen zijn.",
                            "Corrigeer het bestand en probeer opnieuw.") from None
        if per < 1:
            raise DataError(f"{path.name}, rij {i + 2}: per_aantal moet minstens 1 zijn.")
        units.append(UnitSaving(str(row["type"]).strip(), str(row["omschrijving"]).strip(), saving, per,
                                _bool(row["hangt_af_van_activatie"])))
    types = [u.type for u in units]
    if len(set(types)) != len(types):
        raise DataError(f"{path.name}: een documenttype staat meer dan eens in de tabel.")
    return units


def check_volumes(volumes: dict[str, Any], units: list[UnitSaving]) -> dict[str, float]:
    """Volumes per document type as numbers >= 0; a clear Dutch message otherwise."""
    known = {u.type for u in units}
    clean: dict[str, float] = {}
    for key, raw in volumes.items():
        if key not in known:
            raise DataError(f"Onbekend documenttype '{key}'.", f"Bekende types: {', '.join(sorted(known))}.")
        try:
            value = _number(raw)
        except (TypeError, ValueError):
            raise DataError(f"Het volume voor '{key}' is geen getal: {raw!r}.",
                            "Geef een aantal documenten per jaar, bv. 1200.") from None
        if math.isnan(value) or math.isinf(value):
            raise DataError(f"Het volume voor '{key}' is geen getal: {raw!r}.",
                            "Geef een aantal documenten per jaar, bv. 1200.")
        if value < 0:
            raise DataError(f"Het volume voor '{key}' is negatief ({raw}).", "Een volume is 0 of meer.")
        clean[key] = value
    return clean


def read_volumes(path: Path, units: list[UnitSaving]) -> dict[str, float]:
    frame = read_table(path, list(VOLUME_COLUMNS))
    if frame["type"].duplicated().any():
        raise DataError(f"{path.name}: een documenttype staat meer dan eens in de volumes.")
    return check_volumes(dict(zip(frame["type"].str.strip(), frame["volume_per_jaar"], strict=True)), units)


def read_adoption(path: Path) -> pd.DataFrame:
    """Monthly activation figures (share between 0 and 1), sorted by month."""
    frame = read_table(path, list(ADOPTION_COLUMNS))
    try:
        values = frame["activatie"].map(_number)
    except ValueError:
        raise DataError(f"{path.name}: de kolom activatie bevat iets anders dan getallen.",
                        "Gebruik een aandeel tussen 0 en 1, bv. 0.12.") from None
    if ((values < 0) | (values > 1)).any():
        raise DataError(f"{path.name}: activatie moet tussen 0 en 1 liggen (0.12 = 12 %).")
    out = pd.DataFrame({"maand": frame["maand"].astype(str).str.strip(), "activatie": values})
    return out.sort_values("maand").reset_index(drop=True)


def logistic(t: np.ndarray, cap: float, rate: float, midpoint: float) -> np.ndarray:
    return cap / (1.0 + np.exp(-rate * (t - midpoint)))


@dataclass
class AdoptionCurve:
    """activation(t) for month index t (0 = first month of the series)."""

    kind: str = "logistic"  # or "linear" (the baseline)
    coefficients: list[float] = field(default_factory=list)

    @classmethod
    def fit(cls, activation: pd.Series, kind: str = "logistic") -> AdoptionCurve:
        y = activation.to_numpy(dtype=float)
        t = np.arange(len(y), dtype=float)
        if len(y) < 3:
            raise DataError(f"Te weinig maanden om een prognose te maken ({len(y)}).",
                            "Geef minstens 3 maanden met activatiecijfers.")
        if kind == "linear":
            slope, intercept = np.polyfit(t, y, 1)
            return cls("linear", [float(slope), float(intercept)])
        from scipy.optimize import curve_fit

        start = [min(1.0, max(y.max() * 1.5, 0.05)), 0.2, float(len(y))]
        try:
            coef, _ = curve_fit(logistic, t, y, p0=start, bounds=([1e-3, 1e-4, -120.0], [1.0, 5.0, 240.0]),
                                maxfev=20000)
        except RuntimeError:
            raise DataError("De activatiecijfers volgen geen herkenbare groeicurve.",
                            "Kijk de maandcijfers na of gebruik de baseline (--baseline).") from None
        return cls("logistic", [float(c) for c in coef])

    def __call__(self, months: np.ndarray | list[float]) -> np.ndarray:
        t = np.asarray(months, dtype=float)
        if self.kind == "linear":
            slope, intercept = self.coefficients
            return np.clip(slope * t + intercept, 0.0, 1.0)
        return np.clip(logistic(t, *self.coefficients), 0.0, 1.0)


@dataclass
class ScenarioModel:
    """Unit savings, default volumes and activation rate, and the fitted adoption curve."""

    units: list[UnitSaving]
    volumes: dict[str, float]
    activation: float
    adoption: AdoptionCurve
    months: list[str] = field(default_factory=list)  # the months the curve was fitted on

    def savings(self, volumes: dict[str, Any] | None = None, activation: float | None = None) -> dict[str, float]:
        """Yearly saving per document type and in total, in euro, rounded to the cent."""
        rate = self.activation if activation is None else float(activation)
        if not 0.0 <= rate <= 1.0:
            raise DataError(f"De activatiegraad moet tussen 0 en 1 liggen, niet {rate}.", "Bv. 0.4 voor 40 %.")
        chosen = {**self.volumes, **check_volumes(volumes or {}, self.units)}
        exact = {u.type: u.saving(chosen.get(u.type, 0.0), rate) for u in self.units}
        per_type = {kind: round(value, 2) for kind, value in exact.items()}
        per_type[TOTAL] = round(sum(exact.values()), 2)  # the total of the unrounded savings
        return per_type

    def curve(self, rates: list[float] | None = None, volumes: dict[str, Any] | None = None) -> pd.DataFrame:
        """Total yearly saving for each activation rate (what-if curve)."""
        rates = rates if rates is not None else [i / 20 for i in range(21)]
        return pd.DataFrame({"activatie": rates,
                             TOTAL: [self.savings(volumes, r)[TOTAL] for r in rates]})

    def forecast(self, horizon: int = 24) -> pd.DataFrame:
        """Activation per month index, from the first fitted month to `horizon` months after the last."""
        t = np.arange(len(self.months) + horizon)
        return pd.DataFrame({"maand_index": t, "activatie": self.adoption(t)})

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One scenario per row: volume columns per type, optional `activatie`; out: savings per type."""
        rows = []
        for _, row in frame.iterrows():
            record = row.dropna().to_dict()
            rate = record.pop("activatie", None)
            rows.append(self.savings(record, None if rate is None else float(rate)))
        return pd.DataFrame(rows, columns=[u.type for u in self.units] + [TOTAL])

    def to_json(self) -> str:
        return json.dumps({"units": [asdict(u) for u in self.units], "volumes": self.volumes,
                           "activation": self.activation, "adoption": asdict(self.adoption),
                           "months": self.months}, ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> ScenarioModel:
        raw = json.loads(text)
        return cls(units=[UnitSaving(**u) for u in raw["units"]], volumes=raw["volumes"],
                   activation=float(raw["activation"]), adoption=AdoptionCurve(**raw["adoption"]),
                   months=list(raw.get("months", [])))


def forecast_metrics(model: ScenarioModel, test: pd.DataFrame) -> dict[str, float]:
    """Forecast error on the held-out (latest) months, plus the yearly saving at the default rate."""
    start = len(model.months)
    predicted = model.adoption(np.arange(start, start + len(test)))
    error = np.abs(predicted - test["activatie"].to_numpy(dtype=float))
    return {"forecast_mae": float(error.mean()) if len(error) else 0.0,
            "yearly_saving_eur": model.savings()[TOTAL],
            "forecast_activation_12m": float(model.adoption([start + 11])[0])}


def scenario_curve_figure(curve: pd.DataFrame, activation: float):
    """Yearly saving against the activation rate, with the chosen rate marked."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    ax.plot(curve["activatie"] * 100, curve[TOTAL], marker="o", color="#1f5fa8")
    at = np.interp(activation, curve["activatie"], curve[TOTAL])
    ax.axvline(activation * 100, color="#999", linestyle="--")
    ax.annotate(f"{percent(activation)}: {euro(at)} per jaar", (activation * 100, at), textcoords="offset points",
                xytext=(8, -14))
    ax.set_xlabel("activatiegraad (% ontvangers met een actieve eBox)")
    ax.set_ylabel("besparing per jaar (EUR)")
    ax.set_title("Wat levert het op bij welke activatiegraad?")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def adoption_forecast_figure(model: ScenarioModel, observed: pd.DataFrame | None = None, horizon: int = 24):
    """Fitted activation per month (line) and the observed months (dots)."""
    from matplotlib.figure import Figure

    forecast = model.forecast(horizon)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    ax.plot(forecast["maand_index"], forecast["activatie"] * 100, color="#1f5fa8", label="prognose")
    if observed is not None and len(observed):
        ax.scatter(range(len(observed)), observed["activatie"] * 100, color="#c0392b", s=18, label="gemeten")
    ax.axvline(len(model.months) - 0.5, color="#999", linestyle="--")
    ax.set_xlabel(f"maanden sinds {model.months[0] if model.months else 'start'}")
    ax.set_ylabel("activatie (%)")
    ax.set_title("Prognose van de eBox-activatie")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# -- the engine (proeftuin.engines.registry) ------------------------------------------------------------------

def _log_artifacts(client: Any, run_id: str, model: ScenarioModel, test: pd.DataFrame) -> None:
    """What-if curve and adoption forecast, as plots and tables."""
    curve = model.curve()
    client.log_figure(run_id, scenario_curve_figure(curve, model.activation), "plots/scenario_curve.png")
    client.log_text(run_id, curve.to_csv(index=False), "scenario/curve.csv")
    client.log_dict(run_id, model.savings(), "scenario/savings_default.json")
    client.log_figure(run_id, adoption_forecast_figure(model), "plots/adoption_forecast.png")


ENGINE = Engine(
    name="scenario",
    task="scenario",
    model_type=ScenarioModel,
    save=save_json,
    load=json_loader(ScenarioModel),
    log_artifacts=_log_artifacts,
    predicts_rows=False,
    instead="Reken scenario's door in de demo van de pilot: start de galerij met `proeftuin gallery` en open de "
            "pilot daar.",
)
