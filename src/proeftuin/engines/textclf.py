"""Text classification with a person in the loop: the shared engine of routing pilots.

A `TextRouter` wraps a fitted scikit-learn estimator and adds what a routing pilot needs: the
top 3 labels with probabilities, the decision to route automatically or to a person (below a
confidence threshold), and the words that weighed most for a prediction.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops
import skops.io
from scipy import sparse
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import strip_accents_unicode
from sklearn.metrics import accuracy_score, f1_score

from proeftuin.engines.registry import Engine
from proeftuin.errors import ProeftuinError

TOP_K = 3
ROUTE_AUTO = "automatisch"
ROUTE_PERSON = "manuele triage"
ROUTE_SKIPPED = "overgeslagen (lege tekst)"
TEXT_FIELD = "text"
_TITLE_SPLIT = re.compile(r"\n\s*\n")
_WORD = re.compile(r"\w+")
# Function words explain nothing to a reader; they are left out of explanations (not out of the model).
_FUNCTION_WORDS = frozenset(
    "de het een van en in op te voor met aan is dat die dit er zijn niet om of bij door als ook naar uit over "
    "tot wat hoe welke u uw ik je we wij zij hij ze men worden wordt werd werden kan kunnen zal zullen heeft "
    "hebben had was al nog meer dan maar zo dus per".split()
)


def emphasise_title(text: str) -> str:
    """Lowercase without accents, the first paragraph (usually the subject line) repeated so it weighs more.

    A vectorizer with a custom preprocessor skips its own lowercasing and accent stripping, so both are here.
    """
    title = _TITLE_SPLIT.split(text, maxsplit=1)[0]
    return strip_accents_unicode(f"{title} {title} {text}".lower())


def duplicate_weights(texts: Sequence[str]) -> np.ndarray:
    """1 / (rows with the same text): a question sent to several departments counts once in total."""
    counts = pd.Series(list(texts)).map(pd.Series(list(texts)).value_counts())
    return (1.0 / counts).to_numpy()


def prediction_columns(k: int = TOP_K) -> list[str]:
    cols = []
    for i in range(1, k + 1):
        cols += [f"label_{i}", f"probability_{i}"]
    return cols + ["confidence", "route"]


@dataclass
class TextRouter:
    """A fitted text classifier plus the human-oversight threshold.

    prior_alpha > 0 divides the probabilities by the class prior to that power before ranking, which
    lifts small departments (better macro-F1). confidence_member names a calibrated member of a
    VotingClassifier whose top probability decides the route; by default the top probability does.
    """

    estimator: BaseEstimator
    threshold: float
    prior_alpha: float = 0.0
    class_prior: list[float] = field(default_factory=list)
    confidence_member: str | None = None

    def __post_init__(self) -> None:
        column_major_weights(self.estimator)

    @property
    def classes_(self) -> np.ndarray:
        return self.estimator.classes_

    def config(self) -> dict:
        """Everything besides the estimator that the pyfunc needs (stored as the model config)."""
        return {"threshold": float(self.threshold), "prior_alpha": float(self.prior_alpha),
                "class_prior": [float(p) for p in self.class_prior], "confidence_member": self.confidence_member}

    def _split(self, texts: list[str]):
        """(features, final classifier): the feature steps run once per call, shared by all members."""
        if hasattr(self.estimator, "steps") and len(self.estimator.steps) > 1:
            return self.estimator[:-1].transform(texts), self.estimator[-1]
        return texts, self.estimator

    def scores(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(ranking probabilities, confidence) with a single pass through the features."""
        features, clf = self._split(list(texts))
        return self._scores(features, clf)

    def _scores(self, features, clf) -> tuple[np.ndarray, np.ndarray]:
        members = _soft_vote_members(clf)
        if members is None:
            proba = _predict_proba(clf, features)
            member_proba = {}
        else:
            member_proba = {name: _predict_proba(est, features) for name, est in members.items()}
            proba = sum(member_proba.values()) / len(member_proba)
        confidence = proba.max(axis=1)
        if self.confidence_member in member_proba:
            confidence = member_proba[self.confidence_member].max(axis=1)
        if self.prior_alpha and self.class_prior:
            adjusted = proba / np.asarray(self.class_prior) ** self.prior_alpha
            proba = adjusted / adjusted.sum(axis=1, keepdims=True)
        return proba, confidence

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.scores(texts)[0]

    def warm_up(self) -> None:
        """Compute the cached explanation weights now, not on a visitor's first question."""
        if self._coef is not None:
            _ = self._feature_names

    def route_with_reasons(
        self, texts: Sequence[str], k: int = 8
    ) -> tuple[pd.DataFrame, list[list[tuple[str, float]]]]:
        """`predict` plus, per text, the words that weighed most for its top label: one feature pass."""
        texts = _texts(texts)
        table, rows, features = self._table(texts)
        reasons: list[list[tuple[str, float]]] = [[] for _ in texts]
        if len(rows) and self._coef is not None:
            features = sparse.csr_matrix(features)
            for position, i in enumerate(rows):
                index = int(np.flatnonzero(self.classes_ == table.loc[i, "label_1"])[0])
                reasons[i] = self._reasons(features[position], index, k)
        elif len(rows):  # a language model: the words whose removal costs the top label most
            for i in rows:
                index = int(np.flatnonzero(self.classes_ == table.loc[i, "label_1"])[0])
                reasons[i] = self._occlusion(texts[i], index, k)
        return table, reasons

    @cached_property
    def _feature_names(self) -> np.ndarray:
        return self.estimator[:-1].get_feature_names_out()

    @cached_property
    def _coef(self) -> np.ndarray | None:
        return _linear_coef(self.estimator[-1]) if hasattr(self.estimator, "steps") else None

    def _occlusion(self, text: str, index: int, k: int, most: int = 40) -> list[tuple[str, float]]:
        """Explanation for any model: how much the top label's probability drops without each word."""
        words = list(dict.fromkeys(w for w in _WORD.findall(text)
                                   if len(w) > 2 and w.lower() not in _FUNCTION_WORDS))[:most]
        if not words:
            return []
        variants = [_WORD.sub(lambda m, w=w: " " if m.group(0) == w else m.group(0), text) for w in words]
        proba = self.predict_proba([text, *variants])[:, index]
        drops = proba[0] - proba[1:]
        best = sorted(((w.lower(), float(d)) for w, d in zip(words, drops, strict=True) if d > 0),
                      key=lambda kv: -kv[1])[:k]
        return [(word, round(weight, 4)) for word, weight in best]

    def predict(self, model_input: pd.DataFrame | Sequence[str]) -> pd.DataFrame:
        """One row per input: top 3 labels, their probabilities, the confidence and the route."""
        return self._table(_texts(model_input))[0]

    def _table(self, texts: list[str]):
        """The routing table, plus the scored rows and their features (for explanations)."""
        n = len(texts)
        blank = np.array([not t.strip() for t in texts], dtype=bool)
        labels = np.full((n, TOP_K), "", dtype=object)
        probs = np.full((n, TOP_K), np.nan)
        confidence = np.full(n, np.nan)
        route = np.full(n, ROUTE_SKIPPED, dtype=object)
        rows = np.flatnonzero(~blank)
        features = None
        if len(rows):
            features, clf = self._split([texts[i] for i in rows])
            proba, conf = self._scores(features, clf)
            k = min(TOP_K, proba.shape[1])
            order = np.argsort(-proba, axis=1)[:, :k]
            labels[rows, :k] = self.classes_[order]
            probs[rows, :k] = np.take_along_axis(proba, order, axis=1)
            confidence[rows] = conf
            route[rows] = np.where(confidence[rows] >= self.threshold, ROUTE_AUTO, ROUTE_PERSON)
        columns: dict[str, np.ndarray] = {}
        for i in range(TOP_K):
            columns[f"label_{i + 1}"] = labels[:, i]
            columns[f"probability_{i + 1}"] = np.round(probs[:, i], 4)
        columns["confidence"] = np.round(confidence, 4)
        columns["route"] = route
        return pd.DataFrame(columns), rows, features

    def explain(self, text: str, k: int = 8, label: str | None = None) -> list[tuple[str, float]]:
        """The words that pushed `label` (default: the top prediction) most, with their weight (linear models)."""
        coef = self._coef
        if not str(text).strip():
            return []
        if label is None:
            index = int(np.argmax(self.predict_proba([text])[0]))
        else:
            index = int(np.flatnonzero(self.classes_ == label)[0])
        if coef is None:
            return self._occlusion(str(text), index, k)
        return self._reasons(sparse.csr_matrix(self.estimator[:-1].transform([text])), index, k)

    def _reasons(self, x: sparse.csr_matrix, index: int, k: int) -> list[tuple[str, float]]:
        contributions = x.multiply(self._coef[index]).tocsr()
        names = self._feature_names
        scored: dict[str, float] = {}
        for idx, value in zip(contributions.indices, contributions.data, strict=True):
            name = str(names[idx])
            if "char" in name.split("__")[0] or value <= 0:
                continue  # character n-grams mean nothing to a reader; show words only
            word = name.split("__")[-1]
            if all(token in _FUNCTION_WORDS for token in word.split()):
                continue
            scored[word] = scored.get(word, 0.0) + float(value)
        best = sorted(scored.items(), key=lambda kv: -kv[1])[:k]
        return [(word, round(weight, 4)) for word, weight in best]


_WEIGHT_ATTRIBUTES = ("coef_", "feature_log_prob_")
_CHILD_ATTRIBUTES = ("estimator", "estimators_", "calibrated_classifiers_", "steps", "transformer_list", "classic")


def column_major_weights(estimator: object) -> None:
    """Store the (classes x features) weight matrices of linear models and naive Bayes column-major.

    Prediction multiplies the sparse features by `weights.T`. Stored row-major, that transpose is not
    contiguous and scipy copies the whole matrix (19 x 340,000 doubles for the vragenrouter) on every
    call: two thirds of a single prediction's time. Column-major, `weights.T` is contiguous and the
    product reads only the rows of the words in the text. Same values, same results; fitting again
    replaces the arrays. Walks pipelines, feature unions, voting, calibration and one-vs-rest.
    """
    seen: set[int] = set()

    def visit(obj: object) -> None:
        if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, np.ndarray)):
            return
        seen.add(id(obj))
        if isinstance(obj, (list, tuple)):
            for item in obj:
                visit(item)
            return
        for name in _WEIGHT_ATTRIBUTES:
            weights = getattr(obj, name, None)
            if isinstance(weights, np.ndarray) and weights.ndim == 2 and not weights.flags.f_contiguous:
                try:
                    setattr(obj, name, np.asfortranarray(weights))
                except AttributeError:  # a computed property (e.g. SVC(kernel="linear").coef_): leave it
                    pass
        for name in _CHILD_ATTRIBUTES:
            visit(getattr(obj, name, None))

    visit(estimator)


def _soft_vote_members(clf: BaseEstimator) -> dict[str, BaseEstimator] | None:
    """The members of an unweighted soft-voting classifier, whose probabilities we average ourselves."""
    if getattr(clf, "voting", None) == "soft" and getattr(clf, "weights", None) is None \
            and hasattr(clf, "named_estimators_"):
        return dict(clf.named_estimators_)
    return None


def _predict_proba(estimator: BaseEstimator, features) -> np.ndarray:
    fast = _sigmoid_calibrated_proba(estimator, features)
    return estimator.predict_proba(features) if fast is None else fast


def _sigmoid_calibrated_proba(cal: BaseEstimator, features) -> np.ndarray | None:
    """CalibratedClassifierCV(method="sigmoid") over linear models, vectorised: one product per fold.

    Gives the same numbers as `cal.predict_proba` (tested), which calls one calibrator per class and
    fold with input validation each time: 95 small calls per prediction for 19 classes and 5 folds,
    the bulk of a single item's latency. Anything else falls back to scikit-learn (None).
    """
    folds = getattr(cal, "calibrated_classifiers_", None)
    if getattr(cal, "method", None) != "sigmoid" or not folds or len(cal.classes_) < 3:
        return None
    n_classes = len(cal.classes_)
    total = np.zeros((features.shape[0], n_classes))
    for fold in folds:
        linear = fold.estimator
        if not hasattr(linear, "coef_") or len(linear.classes_) != n_classes or len(fold.calibrators) != n_classes:
            return None
        decision = np.asarray(features @ linear.coef_.T) + linear.intercept_
        a = np.array([c.a_ for c in fold.calibrators])
        b = np.array([c.b_ for c in fold.calibrators])
        proba = expit(-(a * decision + b))
        total_row = proba.sum(axis=1, keepdims=True)
        total += np.divide(proba, total_row, out=np.full_like(proba, 1 / n_classes), where=total_row != 0)
    return total / len(folds)


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
    """Per-class weight rows of a linear classifier, also inside calibration, voting or one-vs-rest."""
    if hasattr(clf, "named_estimators_"):  # voting: explain with the first linear member
        for member in clf.named_estimators_.values():
            coef = _linear_coef(member)
            if coef is not None:
                return coef
        return None
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


# -- the engine (proeftuin.engines.registry) ------------------------------------------------------------------

LABEL_FIELD = "label"
# Types a skops file may contain. Anything else (a custom class, a callable from elsewhere) is refused.
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")
# A text model names the function by the module it lived in when it was saved (before 0.x: proeftuin.textclf).
TRUSTED_NAMES = {"proeftuin.engines.textclf.emphasise_title", "proeftuin.textclf.emphasise_title"}


def save_estimator(estimator: Any, path: Path) -> Path:
    """skops.io.dump, with its schema.json written without indentation. skops indents it (json's pure-Python
    encoder), most of the time to save a text model: vragenrouter on 300 rows takes 5.7 s with skops.io.dump
    and 1.5 s like this, and 43 of its 143 MB were spaces. Same members, arrays and schema, so it loads and
    predicts the same (tested). Falls back to skops.io.dump when skops' internals moved."""
    try:
        from skops.io._persist import _save  # noqa: F401 (importing it registers skops' state functions)
        from skops.io._utils import SaveContext, get_state
    except ImportError:
        skops.io.dump(estimator, path)
        return path
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        context = SaveContext(zip_file=archive)
        state = get_state(estimator, context)
        context.clear_memo()
        state["protocol"] = context.protocol
        state["_skops_version"] = skops.__version__
        archive.writestr("schema.json", json.dumps(state))
    Path(path).write_bytes(buffer.getbuffer())
    return path


def load_estimator(path: str | Path) -> Any:
    untrusted = skops.io.get_untrusted_types(file=path)
    refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES) and t not in TRUSTED_NAMES]
    if refused:
        raise ProeftuinError(
            f"Het model in {path} bevat types die niet vertrouwd worden: {', '.join(refused)}.",
            "Train het model opnieuw met `proeftuin run`; laad geen modellen van onbekende herkomst.",
        )
    return skops.io.load(path, trusted=untrusted)


def _save(router: TextRouter, folder: Path) -> dict[str, str]:
    if isinstance(router.estimator, BaseEstimator):
        return {"estimator": str(save_estimator(router.estimator, folder / "estimator.skops"))}
    from proeftuin.engines.language.backends import save_backend  # a language-model backend

    return {"backend": str(save_backend(router.estimator, folder / "backend"))}


def _load(artifacts: dict[str, str], config: dict[str, Any]) -> TextRouter:
    if "estimator" in artifacts:
        estimator = load_estimator(artifacts["estimator"])
    else:
        from proeftuin.engines.language.backends import load_backend

        estimator = load_backend(Path(artifacts["backend"]))
    router = TextRouter(estimator, **config)
    router.warm_up()  # loaded once, shared by every visitor: pay the first-use costs now
    return router


def _signature_example(router: TextRouter, test: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({TEXT_FIELD: test[TEXT_FIELD].head(2).tolist()})


def _log_artifacts(client: Any, run_id: str, router: TextRouter, test: pd.DataFrame) -> None:
    """Confusion matrix and a (scrubbed) sample of predictions on the held-out rows."""
    if LABEL_FIELD not in test:
        return
    from proeftuin.plots import confusion_matrix_figure
    from proeftuin.privacy import scrub_frame

    predictions = router.predict(test[[TEXT_FIELD]])
    labels = sorted(test[LABEL_FIELD].unique())
    fig = confusion_matrix_figure(test[LABEL_FIELD].tolist(), predictions["label_1"].tolist(), labels)
    client.log_figure(run_id, fig, "plots/confusion_matrix.png")
    sample = pd.concat([test[[TEXT_FIELD, LABEL_FIELD]].head(20).reset_index(drop=True),
                        predictions.head(20).reset_index(drop=True)], axis=1)
    sample[TEXT_FIELD] = sample[TEXT_FIELD].str.slice(0, 500)
    sample, _ = scrub_frame(sample, [TEXT_FIELD])  # whatever the manifest says: samples are always scrubbed
    client.log_text(run_id, sample.to_csv(index=False), "samples/predictions.csv")


def _summarise(predictions: pd.DataFrame, path: Path) -> str:
    routes = predictions["route"].value_counts()
    auto, skipped = routes.get(ROUTE_AUTO, 0), routes.get(ROUTE_SKIPPED, 0)
    return (f"{len(predictions)} rijen geschreven naar {path}: {auto} automatisch, "
            f"{len(predictions) - auto - skipped} naar een medewerker, {skipped} lege teksten overgeslagen.")


def _describe(router: TextRouter) -> str:
    if isinstance(router.estimator, BaseEstimator):
        return type(router.estimator).__name__
    from proeftuin.engines.language.backends import describe

    return describe(router.estimator)


def _requirements(router: TextRouter) -> list[str]:
    if isinstance(router.estimator, BaseEstimator):
        return []
    from proeftuin.engines.language.backends import requirements

    return requirements(router.estimator)


ENGINE = Engine(
    name="textclf",
    task="classification",
    model_type=TextRouter,
    save=_save,
    load=_load,
    config=TextRouter.config,
    signature_example=_signature_example,
    log_artifacts=_log_artifacts,
    describe=_describe,
    requirements=_requirements,
    input_column=TEXT_FIELD,
    column_parameter="text_column",
    summarise=_summarise,
)
