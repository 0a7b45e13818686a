"""Vragenrouter: route a question or report to the department that must handle it.

The model: word and character n-gram TF-IDF (subject line weighted double); a sigmoid-calibrated
linear SVM and complement naive Bayes vote softly; questions sent to several departments count once;
ranking lifts small departments (prior_alpha); the SVM's calibrated probability decides the route.
Chosen by 5-fold cross-validation on the training part only. The baseline: Amsterdam's Signalen approach.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import VotingClassifier
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.multiclass import OneVsRestClassifier
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from proeftuin.data import drop_empty, read_table
from proeftuin.engines.language.backends import fit_router
from proeftuin.engines.textclf import TextRouter, emphasise_title, routing_metrics
from proeftuin.errors import DataError

HERE = Path(__file__).parent


def load_data(params: dict) -> pd.DataFrame:
    """The text and label columns as `text` and `label`; empty texts are skipped and counted."""
    path = Path(params["data_path"])
    if not path.is_absolute():
        path = HERE / path
    text, label = str(params["text_column"]), str(params["label_column"])
    frame = read_table(path, [text, label])
    frame = frame[[text, label]].rename(columns={text: "text", label: "label"})
    frame, skipped = drop_empty(frame, "text")
    frame = frame[frame["label"].str.strip() != ""].reset_index(drop=True)
    max_rows = int(params.get("max_rows", 0))
    if max_rows and len(frame) > max_rows:
        frame = frame.groupby("label", group_keys=False).head(max(2, max_rows // frame["label"].nunique()))
        frame = frame.reset_index(drop=True)
    frame.attrs["skipped_empty"] = skipped
    return frame


def build_estimator(params: dict, min_class_rows: int) -> Pipeline:
    """Word and character n-grams; a calibrated linear SVM and complement naive Bayes voting softly."""
    parts = [("words", TfidfVectorizer(preprocessor=emphasise_title, ngram_range=(1, 2), sublinear_tf=True))]
    if params.get("char_ngrams", True):
        parts.append(("chars", TfidfVectorizer(preprocessor=emphasise_title, analyzer="char_wb", ngram_range=(2, 5),
                                               sublinear_tf=True)))
    folds = max(2, min(5, min_class_rows))
    svc = CalibratedClassifierCV(LinearSVC(C=float(params["C"]), class_weight="balanced"), method="sigmoid", cv=folds)
    vote = VotingClassifier([("svc", svc), ("nb", ComplementNB(alpha=0.1))], voting="soft", n_jobs=1)
    return Pipeline([("features", FeatureUnion(parts)), ("clf", vote)])


def train(data: pd.DataFrame, params: dict) -> TextRouter:
    """The router with the backend of the parameter `backend`: classic (this pipeline), embeddings, transformer or
    ensemble (proeftuin.engines.language.backends); chosen and fitted on the training part only."""
    counts = data["label"].value_counts()
    if counts.min() < 2:
        raise DataError(f"Elke dienst heeft minstens 2 voorbeelden nodig; {counts.idxmin()!r} heeft er {counts.min()}.",
                        "Voeg voorbeelden toe of laat zeldzame diensten weg.")

    def classic(texts: list[str], labels: list[str], weights) -> Pipeline:
        estimator = build_estimator(params, int(pd.Series(labels).value_counts().min()))
        return estimator.fit(texts, labels, clf__sample_weight=weights)

    return fit_router(data, params, classic, confidence_member="svc")


def train_baseline(data: pd.DataFrame, params: dict) -> TextRouter:
    """Signalen (Amsterdam): counts, TF-IDF, L1 logistic regression one-vs-rest, grid-searched."""
    pipeline = Pipeline([
        ("vect", CountVectorizer()),
        ("tfidf", TfidfTransformer()),
        ("clf", OneVsRestClassifier(LogisticRegression(l1_ratio=1.0, solver="liblinear", max_iter=300))),
    ])
    grid = {"vect__ngram_range": [(1, 1), (1, 2)], "clf__estimator__class_weight": [None, "balanced"]}
    folds = max(2, min(3, int(data["label"].value_counts().min())))
    search = GridSearchCV(pipeline, grid, cv=folds, scoring="f1_macro", n_jobs=1)
    search.fit(data["text"].tolist(), data["label"].tolist())
    return TextRouter(search.best_estimator_, threshold=float(params["threshold"]))


def evaluate(model, data: pd.DataFrame) -> dict[str, float]:
    """Routing quality on held-out data; `model` is a TextRouter or the MLflow pyfunc of one."""
    predictions = model.predict(pd.DataFrame({"text": data["text"]}))
    return routing_metrics(data["label"], predictions)
