"""The routing engine: fast calibrated probabilities equal scikit-learn's; routes, explanations, metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import VotingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from proeftuin.engines.textclf import (
    ROUTE_AUTO,
    ROUTE_PERSON,
    ROUTE_SKIPPED,
    TextRouter,
    _sigmoid_calibrated_proba,
    column_major_weights,
    routing_metrics,
)

TOPICS = {
    "mobiliteit": "trein bus fiets verkeer parkeren spoor station",
    "afval": "afval container grofvuil recyclagepark sorteren vuilniszak",
    "burgerzaken": "identiteitskaart paspoort rijbewijs adreswijziging uittreksel",
    "groen": "park bomen snoeien gras speeltuin plantsoen",
}


def _data(n: int = 30, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for label, words in TOPICS.items():
        vocab = words.split()
        for _ in range(n):
            texts.append(" ".join(rng.choice(vocab, size=6)) + " vraag over mijn straat")
            labels.append(label)
    return texts, labels


def _router(threshold: float = 0.5) -> TextRouter:
    texts, labels = _data()
    svc = CalibratedClassifierCV(LinearSVC(C=0.5), method="sigmoid", cv=3)
    pipeline = Pipeline([("features", TfidfVectorizer()),
                         ("clf", VotingClassifier([("svc", svc), ("nb", ComplementNB())], voting="soft"))])
    pipeline.fit(texts, labels)
    return TextRouter(pipeline, threshold=threshold, confidence_member="svc")


def test_vectorised_calibration_matches_scikit_learn():
    router = _router()
    texts, _ = _data(n=10, seed=1)
    features = router.estimator[:-1].transform(texts)
    svc = router.estimator[-1].named_estimators_["svc"]
    np.testing.assert_allclose(_sigmoid_calibrated_proba(svc, features), svc.predict_proba(features), atol=1e-12)
    np.testing.assert_allclose(router.predict_proba(texts), router.estimator.predict_proba(texts), atol=1e-12)


def test_weights_are_stored_so_prediction_does_not_copy_them():
    """A router keeps its weight matrices column-major: `weights.T` is contiguous, results are unchanged."""
    texts, labels = _data()
    pipeline = Pipeline([("features", TfidfVectorizer()),
                         ("clf", VotingClassifier([("svc", CalibratedClassifierCV(LinearSVC(C=0.5), cv=3)),
                                                   ("nb", ComplementNB())], voting="soft"))])
    pipeline.fit(texts, labels)
    before = pipeline.predict_proba(texts)
    nb = pipeline[-1].named_estimators_["nb"]
    folds = [c.estimator for c in pipeline[-1].named_estimators_["svc"].calibrated_classifiers_]
    assert not nb.feature_log_prob_.T.flags.c_contiguous  # scikit-learn's layout: scipy would copy it per call
    router = TextRouter(pipeline, threshold=0.5, confidence_member="svc")
    assert nb.feature_log_prob_.T.flags.c_contiguous
    assert all(fold.coef_.T.flags.c_contiguous for fold in folds)
    np.testing.assert_array_equal(pipeline.predict_proba(texts), before)
    np.testing.assert_allclose(router.predict_proba(texts), before, atol=1e-12)
    column_major_weights(pipeline)  # idempotent
    np.testing.assert_array_equal(pipeline.predict_proba(texts), before)
    computed = Pipeline([("features", TfidfVectorizer()), ("clf", LogisticRegression())]).fit(texts, labels)
    computed[-1].coef_ = np.ascontiguousarray(computed[-1].coef_)  # row-major, as most estimators leave it
    computed[-1].__class__ = type("WeightsAsProperty", (LogisticRegression,),  # coef_ computed, cannot be set
                                  {"coef_": property(lambda self: self.__dict__["coef_"])})
    assert TextRouter(computed, threshold=0.5).predict(["park bomen snoeien"]).loc[0, "label_1"] == "groen"


def test_routes_follow_the_threshold_and_blank_texts_are_skipped():
    texts = ["de trein naar het station had vertraging", "", "park bomen snoeien"]
    always_person = _router(threshold=1.01).predict(texts)
    assert list(always_person["route"]) == [ROUTE_PERSON, ROUTE_SKIPPED, ROUTE_PERSON]
    always_auto = _router(threshold=0.0).predict(pd.DataFrame({"text": texts}))
    assert list(always_auto["route"]) == [ROUTE_AUTO, ROUTE_SKIPPED, ROUTE_AUTO]
    assert always_auto.loc[0, "label_1"] == "mobiliteit" and always_auto.loc[2, "label_1"] == "groen"
    row = always_auto.loc[0]
    assert row["probability_1"] >= row["probability_2"] >= row["probability_3"]


def test_explanation_names_the_topic_words_not_function_words():
    words = [w for w, _ in _router().explain("de trein en de bus naar het station")]
    assert {"trein", "bus", "station"} & set(words)
    assert not {"de", "en", "het", "naar"} & set(words)


def test_routing_metrics():
    predictions = pd.DataFrame({
        "label_1": ["a", "b", "a", ""], "label_2": ["b", "a", "c", ""], "label_3": ["c", "c", "b", ""],
        "route": [ROUTE_AUTO, ROUTE_PERSON, ROUTE_AUTO, ROUTE_SKIPPED],
    })
    metrics = routing_metrics(["a", "a", "b", "a"], predictions)
    assert metrics["n"] == 3 and metrics["skipped_empty"] == 1
    assert metrics["accuracy"] == 1 / 3 and metrics["top3_accuracy"] == 1.0
    assert metrics["auto_share"] == 2 / 3 and metrics["auto_accuracy"] == 0.5


def test_route_with_reasons_matches_predict_and_explain():
    router = _router(threshold=0.0)
    texts = ["grofvuil en de container", "", "paspoort en rijbewijs aanvragen"]
    table, reasons = router.route_with_reasons(texts)
    pd.testing.assert_frame_equal(table, router.predict(texts))
    assert reasons[1] == []
    assert reasons[0] == router.explain(texts[0], label=table.loc[0, "label_1"])
    assert reasons[2] == router.explain(texts[2])


def test_a_saved_router_is_what_skops_itself_saves_and_loads_the_same(tmp_path):
    import json
    import zipfile

    import skops.io

    from proeftuin.models import load_estimator, save_estimator

    def schema(path):  # without skops' object ids, which differ between any two saves
        def strip(node):
            if isinstance(node, dict):
                return {k: strip(v) for k, v in node.items() if k != "__id__"}
            return [strip(v) for v in node] if isinstance(node, list) else node
        with zipfile.ZipFile(path) as archive:
            return strip(json.loads(archive.read("schema.json"))), {
                name: archive.read(name) for name in archive.namelist() if name != "schema.json"}

    estimator = _router().estimator
    ours, theirs = tmp_path / "ours.skops", tmp_path / "theirs.skops"
    save_estimator(estimator, ours)
    skops.io.dump(estimator, theirs)
    assert schema(ours) == schema(theirs)
    assert ours.stat().st_size < theirs.stat().st_size  # no indentation
    texts, _ = _data(5, seed=1)
    assert np.array_equal(load_estimator(ours).predict_proba(texts), estimator.predict_proba(texts))
