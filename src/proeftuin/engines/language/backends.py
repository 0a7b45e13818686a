"""The backends of a text pilot, chosen by the parameter `backend` (default `classic`, unchanged):

- `classic`: the pilot's own scikit-learn pipeline;
- `embeddings`: sentence embeddings (`encoder`: the multilingual USE, MiniLM, any added model) and a linear
  classifier; the embeddings of training texts are cached per text hash (a second run does not embed again);
- `transformer`: a classification head fine-tuned on `base_model` (finetune.py);
- `ensemble`: the classic model and `ensemble_with` (embeddings or transformer), mixed with a weight chosen by
  cross-validation on the training data only (out-of-fold probabilities; the held-out rows are never seen).

Every backend becomes the estimator of a `TextRouter`, so the top 3, the route and the explanations work the same;
stored without pickle (skops for scikit-learn parts, safetensors and JSON for the language models).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from proeftuin.engines.language.catalogue import PACKAGED_MODELS
from proeftuin.engines.language.encoders import USE_NAMES, CachedEncoder, encoder_requirements, load_encoder
from proeftuin.engines.language.finetune import FineTuneConfig, TransformerClassifier
from proeftuin.engines.textclf import TextRouter, duplicate_weights, load_estimator, save_estimator
from proeftuin.errors import ProeftuinError

BACKENDS = ("classic", "embeddings", "transformer", "ensemble")
BACKEND_FILE = "backend.json"
ClassicFit = Callable[[list[str], list[str], np.ndarray], Any]


class EmbeddingClassifier:
    """Sentence embeddings plus a logistic regression; embeddings of training texts are cached per text hash.

    Predictions are not cached: what visitors type in a demo is never written to disk.
    """

    def __init__(self, encoder: str, C: float = 4.0, max_tokens: int = 128):
        self.encoder_name, self.C, self.max_tokens = encoder, float(C), int(max_tokens)
        self.head: LogisticRegression | None = None
        self._encoder = None
        self.encoder_path: str | None = None  # a copied encoder folder inside a saved model

    @property
    def classes_(self) -> np.ndarray:
        return self.head.classes_

    def encoder(self):
        if self._encoder is None:
            self._encoder = load_encoder(self.encoder_path or self.encoder_name, self.max_tokens)
        return self._encoder

    def embed_for_training(self, texts: Sequence[str]) -> np.ndarray:
        return CachedEncoder(self.encoder()).encode([str(t) for t in texts])

    def fit(self, texts: Sequence[str], labels: Sequence[str], sample_weight=None):
        vectors = self.embed_for_training(texts)
        self.head = LogisticRegression(C=self.C, max_iter=3000, class_weight="balanced")
        self.head.fit(vectors, list(labels), sample_weight=sample_weight)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.head.predict_proba(self.encoder().encode([str(t) for t in texts]))

    def save(self, folder: Path) -> dict:
        save_estimator(self.head, folder / "head.skops")
        stored = {"kind": "embeddings", "encoder": self.encoder_name, "C": self.C, "max_tokens": self.max_tokens}
        name = self.encoder_name.strip().lower()
        if name not in USE_NAMES and name not in PACKAGED_MODELS:  # a folder or an added model: travels along
            shutil.copytree(self.encoder().path, folder / "encoder",
                            ignore=shutil.ignore_patterns("*.bin", "*.pt", "*.pth", "*.pkl", "*.ckpt", ".git"))
            stored["encoder_folder"] = "encoder"
        return stored

    @classmethod
    def load(cls, folder: Path, stored: dict) -> EmbeddingClassifier:
        self = cls(stored["encoder"], stored["C"], stored["max_tokens"])
        if stored.get("encoder_folder"):
            self.encoder_path = str(folder / stored["encoder_folder"])
        self.head = load_estimator(folder / "head.skops")
        return self


class WeightedEnsemble:
    """The classic model and a language model, probabilities mixed: (1 - weight) * classic + weight * other."""

    def __init__(self, classic: Any, other: Any, weight: float):
        self.classic, self.other, self.weight = classic, other, float(weight)
        if list(classic.classes_) != list(other.classes_):
            raise ProeftuinError("De twee modellen van het ensemble kennen niet dezelfde klassen.",
                                 "Train ze op dezelfde trainingsdata.")

    @property
    def classes_(self) -> np.ndarray:
        return self.classic.classes_

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return mix(classic_proba(self.classic, texts), self.other.predict_proba(texts), self.weight)


def mix(classic: np.ndarray, other: np.ndarray, weight: float) -> np.ndarray:
    return (1 - weight) * classic + weight * other


def classic_proba(estimator: Any, texts: Sequence[str]) -> np.ndarray:
    """The classic pipeline's probabilities through the TextRouter's fast path (one feature pass)."""
    return TextRouter(estimator, threshold=0.0).scores(list(texts))[0]


# -- choosing and fitting ---------------------------------------------------------------------------------------

def fine_tune_config(params: dict) -> FineTuneConfig:
    return FineTuneConfig(base_model=str(params.get("base_model", "")), max_length=int(params.get("max_length", 128)),
                          epochs=int(params.get("epochs", 3)), learning_rate=float(params.get("learning_rate", 5e-5)),
                          batch_size=int(params.get("batch_size", 16)),
                          max_train_rows=int(params.get("max_train_rows", 0)), seed=int(params.get("seed", 42)))


def language_model(kind: str, params: dict) -> EmbeddingClassifier | TransformerClassifier:
    if kind == "embeddings":
        return EmbeddingClassifier(str(params.get("encoder", "universal-sentence-encoder")),
                                   float(params.get("embedding_C", 4.0)), int(params.get("max_length", 128)))
    if kind == "transformer":
        config = fine_tune_config(params)
        if int(config.batch_size) < 1 or int(config.epochs) < 1 or int(config.max_length) < 8:
            raise ProeftuinError("batch_size en epochs moeten minstens 1 zijn, max_length minstens 8.",
                                 "Pas de parameters aan (bv. --param batch_size=16).")
        return TransformerClassifier(config)
    raise ProeftuinError(f"Onbekende backend '{kind}'.", f"Kies een van: {', '.join(BACKENDS)}.")


def _fit_other(kind: str, params: dict, texts: list[str], labels: list[str], weights: np.ndarray, progress: bool):
    model = language_model(kind, params)
    if isinstance(model, TransformerClassifier):
        return model.fit(texts, labels, progress=progress)
    return model.fit(texts, labels, sample_weight=weights)


def choose_weight(fit_classic: ClassicFit, kind: str, params: dict, texts: list[str], labels: list[str],
                  folds: int = 3, prior: np.ndarray | None = None, alpha: float = 0.0) -> tuple[float, dict]:
    """The mixing weight with the best out-of-fold macro-F1 on the training data (never on held-out rows)."""
    y = np.asarray(labels, dtype=object)
    seed = int(params.get("seed", 42))
    folds = max(2, min(folds, int(pd.Series(labels).value_counts().min())))
    classes = np.array(sorted(set(labels)), dtype=object)
    oof_classic = np.zeros((len(y), len(classes)))
    oof_other = np.zeros_like(oof_classic)
    for train_rows, valid_rows in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, y):
        part = [texts[i] for i in train_rows]
        weights = duplicate_weights(part)
        valid = [texts[i] for i in valid_rows]
        oof_classic[valid_rows] = classic_proba(fit_classic(part, list(y[train_rows]), weights), valid)
        oof_other[valid_rows] = _fit_other(kind, params, part, list(y[train_rows]), weights, False).predict_proba(valid)
    scores = {}
    for weight in np.round(np.linspace(0, 1, 21), 2):
        proba = mix(oof_classic, oof_other, weight)
        if alpha and prior is not None:
            proba = proba / prior ** alpha
        scores[float(weight)] = float(f1_score(y, classes[proba.argmax(axis=1)], average="macro", zero_division=0))
    best = max(scores, key=lambda w: (scores[w], -abs(w - 0.5)))
    return best, scores


def fit_router(data: pd.DataFrame, params: dict, fit_classic: ClassicFit, confidence_member: str | None = None,
               progress: bool = True) -> TextRouter:
    """A TextRouter with the backend the parameters ask for, trained on `data` (the training part) only."""
    backend = str(params.get("backend", "classic")).strip().lower()
    if backend not in BACKENDS:
        raise ProeftuinError(f"Onbekende backend '{backend}'.", f"Kies een van: {', '.join(BACKENDS)}.")
    texts, labels = data["text"].astype(str).tolist(), data["label"].astype(str).tolist()
    weights = duplicate_weights(texts)
    classes = np.array(sorted(set(labels)), dtype=object)
    prior = pd.Series(weights).groupby(np.asarray(labels, dtype=object)).sum().reindex(classes).to_numpy()
    prior = prior / prior.sum()
    alpha = float(params.get("prior_alpha", 0.0))
    member = None
    if backend == "classic":
        estimator, member = fit_classic(texts, labels, weights), confidence_member
    elif backend in ("embeddings", "transformer"):
        estimator = _fit_other(backend, params, texts, labels, weights, progress)
    else:
        kind = str(params.get("ensemble_with", "embeddings")).strip().lower()
        if kind not in ("embeddings", "transformer"):
            raise ProeftuinError(f"ensemble_with={kind} kan niet: kies embeddings of transformer.")
        weight, scores = choose_weight(fit_classic, kind, params, texts, labels, prior=prior, alpha=alpha)
        estimator = WeightedEnsemble(fit_classic(texts, labels, weights),
                                     _fit_other(kind, params, texts, labels, weights, progress), weight)
        estimator.scores = scores
    return TextRouter(estimator, threshold=float(params["threshold"]), prior_alpha=alpha, class_prior=list(prior),
                      confidence_member=member)


# -- storage ----------------------------------------------------------------------------------------------------

def save_backend(estimator: Any, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(estimator, EmbeddingClassifier):
        stored = estimator.save(folder)
    elif isinstance(estimator, TransformerClassifier):
        estimator.save(folder / "transformer")
        stored = {"kind": "transformer", "folder": "transformer"}
    elif isinstance(estimator, WeightedEnsemble):
        save_estimator(estimator.classic, folder / "classic.skops")
        save_backend(estimator.other, folder / "other")
        stored = {"kind": "ensemble", "weight": estimator.weight,
                  "cross_validated_macro_f1": getattr(estimator, "scores", {})}
    else:
        raise ProeftuinError(f"Een model van type {type(estimator).__name__} kan niet bewaard worden.")
    (folder / BACKEND_FILE).write_text(json.dumps(stored), encoding="utf-8")
    return folder


def load_backend(folder: Path) -> Any:
    stored = json.loads((folder / BACKEND_FILE).read_text(encoding="utf-8"))
    kind = stored.get("kind")
    if kind == "embeddings":
        return EmbeddingClassifier.load(folder, stored)
    if kind == "transformer":
        return TransformerClassifier.load(folder / stored["folder"])
    if kind == "ensemble":
        return WeightedEnsemble(load_estimator(folder / "classic.skops"), load_backend(folder / "other"),
                                stored["weight"])
    raise ProeftuinError(f"Onbekend soort model in {folder}: {kind!r}.", "Train het model opnieuw.")


def requirements(estimator: Any) -> list[str]:
    if isinstance(estimator, WeightedEnsemble):
        return requirements(estimator.other)
    if isinstance(estimator, TransformerClassifier):
        return ["torch", "transformers", "safetensors"]
    if isinstance(estimator, EmbeddingClassifier):
        return encoder_requirements(estimator.encoder_name)
    return []


def describe(estimator: Any) -> str:
    if isinstance(estimator, WeightedEnsemble):
        return f"ensemble: klassiek {1 - estimator.weight:.2f} + {describe(estimator.other)} {estimator.weight:.2f}"
    if isinstance(estimator, TransformerClassifier):
        return f"fijnafgestemd taalmodel ({estimator.config.base_model})"
    if isinstance(estimator, EmbeddingClassifier):
        return f"zinsembeddings ({estimator.encoder_name}) + logistische regressie"
    return type(estimator).__name__
