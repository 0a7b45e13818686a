"""Text classification with a person in the loop: the shared engine of routing pilots.

A `TextRouter` wraps a fitted scikit-learn estimator and adds what a routing pilot needs: the
top 3 labels with probabilities, the decision to route automatically or to a person (below a
confidence threshold), and the words that weighed most for a prediction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.metrics import accuracy_score, f1_score

TOP_K = 3
ROUTE_AUTO = "automatisch"
ROUTE_PERSON = "manuele triage"
ROUTE_SKIPPED = "overgeslagen (lege tekst)"
TEXT_FIELD = "text"
_TITLE_SPLIT = re.compile(r"\n\s*\n")


def emphasise_title(text: str) -> str:
    """Lowercase, with the first paragraph (usually the subject line) repeated so it weighs more."""
    title = _TITLE_SPLIT.split(text, maxsplit=1)[0]
    return f"{title} {title} {text}".lower()


def prediction_columns(k: int = TOP_K) -> list[str]:
    cols = []
    for i in range(1, k + 1):
        cols += [f"label_{i}", f"probability_{i}"]
    return cols + ["confidence", "route"]


@dataclass
class TextRouter:
    """A fitted text classifier plus the human-oversight threshold."""

    estimator: BaseEstimator
    threshold: float

    @property
    def classes_(self) -> np.ndarray:
        return self.estimator.classes_

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.estimator.predict_proba(list(texts))

    def predict(self, model_input: pd.DataFrame | Sequence[str]) -> pd.DataFrame:
        """One row per input: top 3 labels, their probabilities, the confidence and the route."""
        texts = _texts(model_input)
        n = len(texts)
        blank = np.array([not t.strip() for t in texts], dtype=bool)
        columns: dict[str, np.ndarray] = {}
        labels = np.full((n, TOP_K), "", dtype=object)
        probs = np.full((n, TOP_K), np.nan)
        confidence = np.full(n, np.nan)
        route = np.full(n, ROUTE_SKIPPED, dtype=object)
        rows = np.flatnonzero(~blank)
        if len(rows):
            proba = self.predict_proba([texts[i] for i in rows])
            k = min(TOP_K, proba.shape[1])
            order = np.argsort(-proba, axis=1)[:, :k]
            labels[rows, :k] = self.classes_[order]
            probs[rows, :k] = np.take_along_axis(proba, order, axis=1)
            confidence[rows] = probs[rows, 0]
            route[rows] = np.where(confidence[rows] >= self.threshold, ROUTE_AUTO, ROUTE_PERSON)
        for i in range(TOP_K):
            columns[f"label_{i + 1}"] = labels[:, i]
            columns[f"probability_{i + 1}"] = np.round(probs[:, i], 4)
        columns["confidence"] = np.round(confidence, 4)
        columns["route"] = route
        return pd.DataFrame(columns)

    def explain(self, text: str, k: int = 8) -> list[tuple[str, float]]:
        """The words that pushed the top prediction most, with their weight (linear models)."""
        features = self.estimator[:-1]
        coef = _linear_coef(self.estimator[-1])
        if coef is None or not str(text).strip():
            return []
        proba = self.predict_proba([text])[0]
        row = coef[int(np.argmax(proba))]
        x = sparse.csr_matrix(features.transform([text]))
        contributions = x.multiply(row).tocsr()
        names = features.get_feature_names_out()
        scored: dict[str, float] = {}
        for idx, value in zip(contributions.indices, contributions.data):
            name = str(names[idx])
            if "char" in name.split("__")[0] or value <= 0:
                continue  # character n-grams mean nothing to a reader; show words only
            word = name.split("__")[-1]
            scored[word] = scored.get(word, 0.0) + float(value)
        best = sorted(scored.items(), key=lambda kv: -kv[1])[:k]
        return [(word, round(weight, 4)) for word, weight in best]


def _texts(model_input: pd.DataFrame | Sequence[str]) -> list[str]:
    if isinstance(model_input, pd.DataFrame):
        column = TEXT_FIELD if TEXT_FIELD in model_input.columns else model_input.columns[0]
        values = model_input[column]
    elif isinstance(model_input, pd.Series):
        values = model_input
    else:
        values = pd.Series(list(model_input))
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values]


def _linear_coef(clf: BaseEstimator) -> np.ndarray | None:
    """Per-class weight rows of a linear classifier, also inside calibration or one-vs-rest."""
    if hasattr(clf, "coef_") and clf.coef_.shape[0] == len(clf.classes_):
        return np.asarray(clf.coef_)
    if hasattr(clf, "estimators_"):  # one-vs-rest
        return np.vstack([np.asarray(e.coef_).ravel() for e in clf.estimators_])
    if hasattr(clf, "calibrated_classifiers_"):
        return np.mean([c.estimator.coef_ for c in clf.calibrated_classifiers_], axis=0)
    return None


def routing_metrics(y_true: Sequence[str], predictions: pd.DataFrame) -> dict[str, float]:
    """Quality of the routing: overall, top 3, and the automatically routed share (human oversight)."""
    y = np.asarray(list(y_true), dtype=object)
    scored = predictions["route"].to_numpy() != ROUTE_SKIPPED
    y, pred = y[scored], predictions.loc[scored]
    top1 = pred["label_1"].to_numpy(dtype=object)
    in_top3 = np.zeros(len(y), dtype=bool)
    for i in range(1, TOP_K + 1):
        if f"label_{i}" in pred:
            in_top3 |= pred[f"label_{i}"].to_numpy(dtype=object) == y
    auto = pred["route"].to_numpy() == ROUTE_AUTO
    n = len(y)
    return {
        "macro_f1": float(f1_score(y, top1, average="macro", zero_division=0)) if n else 0.0,
        "accuracy": float(accuracy_score(y, top1)) if n else 0.0,
        "top3_accuracy": float(in_top3.mean()) if n else 0.0,
        "auto_share": float(auto.mean()) if n else 0.0,
        "auto_accuracy": float((top1[auto] == y[auto]).mean()) if auto.any() else 0.0,
        "n": float(n),
        "skipped_empty": float((~scored).sum()),
    }


def threshold_for_accuracy(confidence: np.ndarray, correct: np.ndarray, target: float) -> float:
    """The lowest confidence threshold whose automatically routed items reach `target` accuracy.

    Computed on out-of-fold predictions of the training data, never on the test split.
    """
    order = np.argsort(-confidence)
    running = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(running >= target)
    if not len(ok):
        return 1.0
    return float(confidence[order][ok[-1]])
