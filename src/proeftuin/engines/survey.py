"""Questionnaire scores, profiles by clustering, a training track per profile, and safe aggregates.

Built for the digital-maturity scan: answers on a 1-5 scale, three items per DigComp 2.2 competence
area. The model is a set of cluster centres (k-means) with a name and a training track per profile,
stored as JSON (no pickle). Aggregates per organisation are only published for groups of at least
`MIN_GROUP` respondents, so no answer can be traced to a person.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from proeftuin.engines.registry import Engine, json_loader, save_json
from proeftuin.errors import DataError

AREAS = {
    "informatie": "Informatie- en datageletterdheid",
    "communicatie": "Communicatie en samenwerking",
    "content": "Digitale content creëren",
    "veiligheid": "Veiligheid",
    "probleemoplossing": "Problemen oplossen",
}
ITEMS_PER_AREA = 3
ITEMS = [f"{area}_{i}" for area in AREAS for i in range(1, ITEMS_PER_AREA + 1)]
GROUPS = {
    "digitale_trekker": "Digitale trekkers",
    "digitale_coach": "Digitale coaches",
    "schermgebruiker": "Schermgebruikers",
    "niet_schermgebruiker": "Niet-schermgebruikers",
    "it": "IT",
}
MIN_GROUP = 5
LEVELS = ["Starter", "Op weg", "Gevorderd", "Voortrekker", "Expert", "Expert+"]
TRACKS = {
    "Starter": "Basistraject: digitale basisvaardigheden in kleine groep, met een digitale coach naast je",
    "Op weg": "Groeitraject: korte praktijksessies rond de toepassingen die je dagelijks gebruikt",
    "Gevorderd": "Verdiepingstraject: modules naar keuze, te beginnen bij je zwakste domein",
    "Voortrekker": "Coachtraject: leer collega's begeleiden en word digitale coach",
    "Expert": "Expertentraject: innovatie en AI-verkenning met de digitale trekkers van de regio",
    "Expert+": "Expertentraject: innovatie en AI-verkenning met de digitale trekkers van de regio",
}
# Mean answer (1-5) per target group, and how much each area differs from it: the synthetic generator's knobs.
_GROUP_MEAN = {"digitale_trekker": 4.1, "digitale_coach": 3.8, "schermgebruiker": 3.0,
               "niet_schermgebruiker": 2.0, "it": 4.4}
_AREA_SHIFT = {"informatie": 0.1, "communicatie": 0.3, "content": -0.3, "veiligheid": -0.1, "probleemoplossing": 0.0}
_GROUP_AREA_SHIFT = {
    "digitale_trekker": {"content": 0.5, "veiligheid": -0.4},
    "digitale_coach": {"communicatie": 0.5, "probleemoplossing": -0.4},
    "schermgebruiker": {"veiligheid": -0.5},
    "niet_schermgebruiker": {"communicatie": 0.4, "informatie": -0.3},
    "it": {"veiligheid": 0.6, "communicatie": -0.7, "content": -0.3},
}


def generate_respondents(n: int, seed: int = 7, organisations: list[str] | None = None) -> pd.DataFrame:
    """Synthetic answers (no real respondent exists): group level + area shift + organisation + noise.

    Each respondent belongs to an organisation and a target group; each item is a whole number 1-5.
    """
    rng = np.random.default_rng(seed)
    orgs = organisations or ["kortrijk", "waregem", "harelbeke", "menen", "anzegem", "spiere-helkijn"]
    org_weights = np.linspace(2.0, 0.4, len(orgs))
    org_shift = dict(zip(orgs, rng.normal(0, 0.2, len(orgs)), strict=True))
    groups = list(GROUPS)
    group_p = np.array([0.06, 0.1, 0.5, 0.26, 0.08])
    rows = []
    for i in range(n):
        org = orgs[rng.choice(len(orgs), p=org_weights / org_weights.sum())]
        group = groups[rng.choice(len(groups), p=group_p)]
        person = rng.normal(0, 0.35)
        row: dict[str, Any] = {"respondent": f"r{i + 1:05d}", "organisatie": org, "doelgroep": group}
        for area in AREAS:
            level = (_GROUP_MEAN[group] + _AREA_SHIFT[area] + _GROUP_AREA_SHIFT[group].get(area, 0.0)
                     + org_shift[org] + person)
            for j in range(1, ITEMS_PER_AREA + 1):
                row[f"{area}_{j}"] = int(np.clip(np.rint(level + rng.normal(0, 0.5)), 1, 5))
        rows.append(row)
    return pd.DataFrame(rows)


def check_answers(frame: pd.DataFrame) -> pd.DataFrame:
    """Item columns as numbers 1-5; a clear Dutch message names the first bad column."""
    missing = [c for c in ITEMS if c not in frame]
    if missing:
        raise DataError(f"De vragenlijst mist de kolom(men) {', '.join(missing)}.",
                        f"Verwacht per domein {ITEMS_PER_AREA} vragen: {', '.join(ITEMS)}.")
    out = frame.copy()
    for column in ITEMS:
        values = pd.to_numeric(out[column], errors="coerce")
        bad = values.isna() | (values < 1) | (values > 5)
        if bad.any():
            raise DataError(f"Kolom {column} bevat een antwoord dat geen getal van 1 tot 5 is "
                            f"(rij {int(np.flatnonzero(bad.to_numpy())[0]) + 2}).",
                            "Elk antwoord is een getal van 1 (helemaal niet) tot 5 (helemaal wel).")
        out[column] = values.astype(float)
    return out


def area_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Score per competence area on 0-100 (mean of its items, 1 -> 0, 5 -> 100)."""
    answers = check_answers(frame)
    return pd.DataFrame({area: (answers[[f"{area}_{j}" for j in range(1, ITEMS_PER_AREA + 1)]].mean(axis=1) - 1) * 25
                         for area in AREAS}, index=frame.index)


def aggregate(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean area scores per organisation and per organisation x target group, next to the region's.

    A group of fewer than MIN_GROUP respondents gets no scores (only its size), so that no answer can
    be traced back to a person.
    """
    scores = area_scores(frame)
    everyone = "alle doelgroepen"
    rows: list[dict[str, Any]] = []

    def add(org: str, group: str, part: pd.DataFrame) -> None:
        row: dict[str, Any] = {"organisatie": org, "doelgroep": group, "respondenten": len(part)}
        published = len(part) >= MIN_GROUP
        row.update({area: round(float(part[area].mean()), 1) if published else None for area in AREAS})
        row["gepubliceerd"] = published
        rows.append(row)

    add("regio", everyone, scores)
    for group, part in scores.groupby(frame["doelgroep"]):
        add("regio", str(group), part)
    for org, part in scores.groupby(frame["organisatie"]):
        add(str(org), everyone, part)
        for group, sub in part.groupby(frame.loc[part.index, "doelgroep"]):
            add(str(org), str(group), sub)
    return pd.DataFrame(rows)


@dataclass
class SurveyProfiler:
    """Nearest-centre profiles on area scores; centres, names and tracks are plain numbers and text."""

    centres: list[list[float]]
    names: list[str]
    tracks: list[str]
    aggregates: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_centres(cls, centres: np.ndarray, aggregates: list[dict[str, Any]] | None = None) -> SurveyProfiler:
        order = np.argsort(centres.mean(axis=1))  # profile 1 = lowest overall score
        centres = centres[order]
        names, tracks = [], []
        for centre in centres:
            level = LEVELS[min(int(centre.mean() // 20), len(LEVELS) - 1)]
            weakest = list(AREAS)[int(np.argmin(centre))]
            strongest = list(AREAS)[int(np.argmax(centre))]
            names.append(f"{len(names) + 1}. {level}: sterk in {AREAS[strongest].lower()}, "
                         f"zwakst in {AREAS[weakest].lower()}")
            tracks.append(f"{TRACKS[level]}; eerste module: {AREAS[weakest].lower()}.")
        return cls([[round(float(v), 4) for v in c] for c in centres], names, tracks, aggregates or [])

    def assign(self, scores: pd.DataFrame) -> np.ndarray:
        centres = np.asarray(self.centres)
        distances = ((scores[list(AREAS)].to_numpy()[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        return distances.argmin(axis=1)

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Answers (item columns) or area scores in; scores, profile and training track out."""
        scores = frame[list(AREAS)].astype(float) if set(AREAS) <= set(frame) and not set(ITEMS) <= set(frame) \
            else area_scores(frame)
        index = self.assign(scores)
        out = scores.round(1).reset_index(drop=True)
        out["profiel"] = [self.names[i] for i in index]
        out["opleidingstraject"] = [self.tracks[i] for i in index]
        return out

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> SurveyProfiler:
        return cls(**json.loads(text))


def fit_profiles(frame: pd.DataFrame, n_profiles: int, seed: int = 42) -> SurveyProfiler:
    from sklearn.cluster import KMeans

    if len(frame) < max(n_profiles * 2, MIN_GROUP):
        raise DataError(f"Te weinig respondenten ({len(frame)}) voor {n_profiles} profielen.",
                        "Verzamel meer antwoorden of kies minder profielen (--param n_profiles=3).")
    scores = area_scores(frame)
    kmeans = KMeans(n_clusters=n_profiles, n_init=10, random_state=seed).fit(scores.to_numpy())
    return SurveyProfiler.from_centres(kmeans.cluster_centers_, aggregate(frame).to_dict(orient="records"))


def fit_level_bands(frame: pd.DataFrame, n_profiles: int) -> SurveyProfiler:
    """Baseline: profiles from equal-width bands of the overall score (no clustering)."""
    scores = area_scores(frame)
    overall = scores.mean(axis=1)
    edges = np.linspace(overall.min(), overall.max() + 1e-9, n_profiles + 1)
    bands = np.clip(np.digitize(overall, edges) - 1, 0, n_profiles - 1)
    centres = np.array([scores[bands == b].mean().to_numpy() if (bands == b).any()
                        else np.full(len(AREAS), (edges[b] + edges[b + 1]) / 2) for b in range(n_profiles)])
    return SurveyProfiler.from_centres(centres, aggregate(frame).to_dict(orient="records"))


def profile_metrics(model: SurveyProfiler, frame: pd.DataFrame) -> dict[str, float]:
    """How well the profiles separate respondents the model did not see (silhouette, -1..1)."""
    from sklearn.metrics import silhouette_score

    scores = area_scores(frame)
    labels = model.assign(scores)
    n_used = len(set(labels))
    silhouette = float(silhouette_score(scores.to_numpy(), labels)) if 1 < n_used < len(scores) else 0.0
    shares = np.bincount(labels, minlength=len(model.centres)) / max(len(labels), 1)
    return {"silhouette": silhouette, "profiles_used": float(n_used), "smallest_profile_share": float(shares.min())}


def profile_figure(model: SurveyProfiler):
    """Area scores of each profile's centre: what sets the profiles apart."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    width = 0.8 / len(model.centres)
    x = np.arange(len(AREAS))
    for i, (centre, name) in enumerate(zip(model.centres, model.names, strict=True)):
        ax.bar(x + i * width, centre, width, label=name)
    ax.set_xticks(x + 0.4 - width / 2, [AREAS[a].split(" ")[0] for a in AREAS])
    ax.set_ylim(0, 100)
    ax.set_ylabel("score (0-100)")
    ax.set_title("Profielen per DigComp-domein")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# -- the engine (proeftuin.engines.registry) ------------------------------------------------------------------

def _log_artifacts(client: Any, run_id: str, model: SurveyProfiler, test: pd.DataFrame) -> None:
    """Profile chart and the published aggregates (groups under the minimum size withheld)."""
    client.log_figure(run_id, profile_figure(model), "plots/profiles.png")
    client.log_dict(run_id, {"profiles": model.names, "tracks": model.tracks}, "survey/profiles.json")
    client.log_text(run_id, pd.DataFrame(model.aggregates).to_csv(index=False), "survey/aggregates.csv")


def _summarise(predictions: pd.DataFrame, path: Path) -> str:
    return f"{len(predictions)} rijen geschreven naar {path}: per respondent de scores, het profiel en het " \
           "opleidingstraject."


ENGINE = Engine(
    name="survey",
    task="clustering",
    model_type=SurveyProfiler,
    save=save_json,
    load=json_loader(SurveyProfiler),
    log_artifacts=_log_artifacts,
    summarise=_summarise,
)
