"""The CLI contract, driven as a user would, against a fresh real SQLite tracking store."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import PILOTS, ROOT
from mlflow.tracking import MlflowClient

from proeftuin.settings import load_settings

TINY = ["--param", "max_rows=300"]
DATA = PILOTS / "vragenrouter" / "data" / "dekamer_2017_nl.csv"


def _client(state: Path) -> MlflowClient:
    uri = load_settings(ROOT / "proeftuin.yaml").backend_store_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@pytest.fixture
def sample_csv(tmp_path: Path) -> Path:
    """80 real questions in a municipality-style export: other column names, `;`, and one empty text."""
    frame = pd.read_csv(DATA).groupby("answer_department").head(5).head(80)
    frame = frame.rename(columns={"question": "bericht", "answer_department": "dienst"})
    frame = frame[["doc_id", "bericht", "dienst"]]
    frame.loc[frame.index[3], "bericht"] = "   "
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False, sep=";")
    return path


def test_run_logs_everything_and_promotes_the_first_champion(run_cli, fresh_store: Path):
    out = run_cli.json("run", "vragenrouter", "--org", "waregem", *TINY)
    assert set(out) == {"run_id", "model_uri", "metrics", "champion"}
    assert out["champion"] is True
    assert out["metrics"]["top3_accuracy"] >= out["metrics"]["accuracy"]

    client = _client(fresh_store)
    run = client.get_run(out["run_id"])
    # what the command printed is what MLflow shows, measure for measure
    for key in ("macro_f1", "accuracy", "top3_accuracy", "auto_share", "auto_accuracy", "n"):
        assert run.data.metrics[key] == pytest.approx(out["metrics"][key]), key
    assert out["metrics"]["n"] == out["metrics"]["test_rows"] > 0
    tags = run.data.tags
    assert tags["proeftuin.organisation"] == "waregem"
    assert tags["proeftuin.template"] == "text-classification"
    assert tags["proeftuin.user"] and len(tags["proeftuin.data_hash"]) == 16
    assert tags["proeftuin.git_commit"] != ""
    assert client.get_experiment(run.info.experiment_id).name == "vragenrouter"
    assert run.data.params["threshold"] == "0.65"
    artifacts = {a.path for a in client.list_artifacts(out["run_id"])} | {
        a.path for folder in ("profile", "plots", "samples") for a in client.list_artifacts(out["run_id"], folder)}
    assert {"model_card.md", "profile/data_profile.json", "profile/label_balance.png",
            "plots/confusion_matrix.png", "samples/predictions.csv"} <= artifacts
    profile = json.loads(Path(client.download_artifacts(out["run_id"], "profile/data_profile.json")).read_text())
    assert profile["rows"] > 250 and profile["n_labels"] == 19
    assert sum(profile["label_balance"].values()) == profile["rows"]
    card = Path(client.download_artifacts(out["run_id"], "model_card.md")).read_text()
    assert "Menselijk toezicht" in card and "minimaal" in card
    assert "| maat | waarde | in woorden |" in card and "| top-3-nauwkeurigheid (`top3_accuracy`) | 0," in card
    assert re.search(r"Hoofdmaat \*\*macro-F1\*\*: score \d+ op 100 voor de juiste dienst.*\(macro-F1 0,\d\d\)", card)
    assert re.search(r"(beter|slechter) dan de baseline \(0,46\): [+-]0,\d+ \(.*\), verhouding \d,\d\d×", card)
    assert "nan" not in card.lower()
    champion = client.get_model_version_by_alias("vragenrouter", "champion")
    assert champion.run_id == out["run_id"]


def test_model_uri_loads_in_a_new_process_without_pickle(run_cli, fresh_store: Path):
    out = run_cli.json("run", "vragenrouter", *TINY)
    uri = load_settings(ROOT / "proeftuin.yaml").backend_store_uri
    code = (
        "import mlflow, pandas as pd, sys\n"
        f"mlflow.set_tracking_uri({uri!r})\n"
        f"m = mlflow.pyfunc.load_model({out['model_uri']!r})\n"
        "p = m.predict(pd.DataFrame({'text': ['Vertragingen bij de NMBS op de spoorlijn', '']}))\n"
        "print(p.to_json(orient='records'))\n"
    )
    env = {"MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false", "PATH": "/usr/bin:/bin", "HOME": str(fresh_store)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    assert rows[0]["label_1"] and 0 < rows[0]["probability_1"] <= 1
    assert rows[0]["route"] in {"automatisch", "manuele triage"}
    assert rows[1]["route"] == "overgeslagen (lege tekst)"


def test_worse_run_does_not_take_the_champion(run_cli, fresh_store: Path):
    first = run_cli.json("run", "vragenrouter", *TINY)
    worse = run_cli.json("run", "vragenrouter", *TINY, "--param", "C=0.00001", "--param", "char_ngrams=false")
    assert worse["metrics"]["macro_f1"] < first["metrics"]["macro_f1"]
    assert worse["champion"] is False
    client = _client(fresh_store)
    assert client.get_model_version_by_alias("vragenrouter", "champion").run_id == first["run_id"]


def test_evaluate_predict_and_compare_on_a_municipal_export(run_cli, sample_csv: Path, tmp_path: Path):
    waregem = run_cli.json("run", "vragenrouter", "--org", "waregem", *TINY)
    kortrijk = run_cli.json("run", "vragenrouter", "--org", "kortrijk", *TINY, "--param", "char_ngrams=false")
    baseline = run_cli.json("run", "vragenrouter", "--org", "kortrijk", "--baseline", *TINY)
    assert baseline["champion"] is False

    cols = ["--param", "text_column=bericht", "--param", "label_column=dienst"]
    scores = run_cli.json("evaluate", "vragenrouter", "--data", str(sample_csv), *cols)
    assert {"macro_f1", "accuracy", "top3_accuracy", "auto_share", "auto_accuracy", "n"} <= set(scores)
    assert scores["n"] == 79 and scores["skipped_empty"] == 1
    assert scores["model_uri"] == "models:/vragenrouter@champion"
    explicit = run_cli.json("evaluate", "vragenrouter", "--data", str(sample_csv),
                            "--model", kortrijk["model_uri"], *cols)
    assert explicit["model_uri"] == kortrijk["model_uri"] and explicit["macro_f1"] != scores["macro_f1"]

    output = tmp_path / "routes.csv"
    result = run_cli("predict", "vragenrouter", "--data", str(sample_csv), "--output", str(output),
                     "--param", "text_column=bericht")
    routed = pd.read_csv(output, keep_default_na=False)
    assert len(routed) == 80 and list(routed["doc_id"]) == list(pd.read_csv(sample_csv, sep=";")["doc_id"])
    assert {"label_1", "probability_1", "label_2", "probability_2", "label_3", "probability_3", "route"} <= set(routed)
    assert routed.loc[3, "route"] == "overgeslagen (lege tekst)"
    assert set(routed["route"]) <= {"automatisch", "manuele triage", "overgeslagen (lege tekst)"}
    assert "80 rijen" in result.stdout and "1 lege" in result.stdout

    runs = run_cli.json("compare", "vragenrouter")["runs"]
    assert [r["run_id"] for r in runs][0] == waregem["run_id"]
    f1 = [r["metrics"]["macro_f1"] for r in runs]
    assert f1 == sorted(f1, reverse=True) and len(runs) == 3
    assert {r["kind"] for r in runs} == {"model", "baseline"}
    by_org = run_cli.json("compare", "vragenrouter", "--by", "organisation")["runs"]
    assert [r["organisation"] for r in by_org] == ["waregem", "kortrijk"]
    table = run_cli("compare", "vragenrouter").stdout
    assert "waregem" in table and "baseline" in table
    assert re.search(r"macro-F1 +nauwkeurigheid +top-3-nauwkeurigheid", table), table  # labels, not names
    assert re.search(r"waregem +model +0,\d\d", table) and "Gerangschikt op macro-F1 (hoger is beter)" in table
    assert "top-3-nauwkeurigheid: Hoe vaak de juiste dienst bij de eerste 3 voorstellen" in table
    said = run_cli("evaluate", "vragenrouter", "--data", str(sample_csv), *cols).stdout
    assert re.search(r"macro-F1 +0,\d\d +score \d+ op 100 voor de juiste dienst", said), said
    assert re.search(r"nauwkeurigheid +0,\d\d +de juiste dienst in \d+ van de 100 vragen", said)
    assert "1 lege tekst overgeslagen." in said and not re.search(r"\d\.\d", "\n".join(said.splitlines()[1:]))

    listed = run_cli.json("list")
    router = next(p for p in listed if p["slug"] == "vragenrouter")
    assert router["champion_metric"] == pytest.approx(waregem["metrics"]["macro_f1"])


def test_csv_without_the_expected_columns(run_cli, sample_csv: Path):
    result = run_cli("run", "vragenrouter", "--data", str(sample_csv), code=1)
    assert "question" in result.stderr and "answer_department" in result.stderr  # expected
    assert "bericht" in result.stderr and "dienst" in result.stderr  # found


def test_non_utf8_csv_and_missing_file(run_cli, tmp_path: Path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("question,answer_department\n"
                      "Waar is het gemeentehuis in Zwevegem? Caf\xe9,Binnenlandse Zaken\n".encode("latin-1"))
    assert "UTF-8" in run_cli("run", "vragenrouter", "--data", str(latin), code=1).stderr
    assert "bestaat niet" in run_cli("run", "vragenrouter", "--data", str(tmp_path / "weg.csv"), code=1).stderr


def test_unknown_organisation_and_bad_param(run_cli):
    assert "kortrijk" in run_cli("run", "vragenrouter", "--org", "gent", code=1).stderr
    assert "sleutel=waarde" in run_cli("run", "vragenrouter", "--param", "threshold", code=1).stderr


def test_unreachable_tracking_server_loses_nothing(run_cli, fresh_store: Path, monkeypatch: pytest.MonkeyPatch):
    first = run_cli.json("run", "vragenrouter", *TINY)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    for args in (["run", "vragenrouter", *TINY], ["compare", "vragenrouter"],
                 ["evaluate", "vragenrouter", "--data", str(DATA)]):
        result = run_cli(*args, code=1)
        assert "niet bereikbaar" in result.stderr and "proeftuin mlflow" in result.stderr
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    runs = run_cli.json("compare", "vragenrouter")["runs"]
    assert [r["run_id"] for r in runs] == [first["run_id"]]


def test_evaluate_without_a_champion_says_what_to_do(run_cli, sample_csv: Path):
    result = run_cli("evaluate", "vragenrouter", "--data", str(sample_csv), code=1)
    assert "proeftuin run" in result.stderr


@pytest.mark.parametrize(
    "command", ["validate", "list", "mlflow", "up", "run", "evaluate", "predict", "compare", "scrub"]
)
def test_every_command_has_help(run_cli, command: str):
    assert "Usage:" in run_cli(command, "--help").stdout


def test_no_raw_identifier_reaches_the_artifact_store(run_cli, fresh_store: Path, tmp_path: Path):
    """Personal data in the training texts must not appear in any artifact, the model file included."""
    secrets = ["85.07.30-033.28", "BE71 0961 2345 6769", "0475 12 34 56", "an.peeters@telenet.be", "Mohamed El Amrani"]
    frame = pd.read_csv(DATA).groupby("answer_department").head(14)[["question", "answer_department"]]
    frame["question"] = [
        f"{q} Contact: {secrets[4]}, rijksregisternummer {secrets[0]}, rekening {secrets[1]}, "
        f"gsm {secrets[2]}, {secrets[3]}."
        for q in frame["question"]
    ]
    path = tmp_path / "met_persoonsgegevens.csv"
    frame.to_csv(path, index=False)
    out = run_cli.json("run", "vragenrouter", "--data", str(path))
    assert out["metrics"]["privacy_rijksregisternummer"] == len(frame)

    needles = [s.lower() for s in secrets] + ["peeters", "amrani"]
    digits_only = ["85073003328", "be71096123456769", "0475123456"]
    texts = []
    for file in fresh_store.rglob("*"):
        if not file.is_file():
            continue
        if zipfile.is_zipfile(file):
            with zipfile.ZipFile(file) as archive:
                texts += [archive.read(name).decode("utf-8", "ignore") for name in archive.namelist()]
        else:
            texts.append(file.read_bytes().decode("utf-8", "ignore"))
    haystack = "\n".join(texts).lower()
    assert len(texts) > 5
    squeezed = re.sub(r"[\s./-]", "", haystack)
    leaked = [n for n in needles if n in haystack] + [n for n in digits_only if n in squeezed]
    assert not leaked, f"raw personal data in the store: {leaked}"


def test_compare_shows_the_family_of_a_forked_pilot(run_cli, pilots_copy: Path):
    """A fork's runs live in its own experiment; --family ranks them with the original's, per pilot."""
    run_cli("new", "--from", "ebox-besparing", "--org", "menen")
    run_cli("new", "--from", "ebox-besparing-menen", "--org", "wervik", "--slug", "ebox-wervik")
    original = run_cli.json("run", "ebox-besparing", "--org", "kortrijk")
    menen = run_cli.json("run", "ebox-besparing-menen", "--org", "menen", "--param", "holdout_months=4")
    wervik = run_cli.json("run", "ebox-wervik", "--org", "wervik", "--param", "holdout_months=3")
    run_cli.json("run", "ebox-besparing-menen", "--org", "menen", "--baseline")

    alone = run_cli.json("compare", "ebox-besparing")
    assert [r["run_id"] for r in alone["runs"]] == [original["run_id"]]
    assert [m["slug"] for m in alone["family"]] == ["ebox-besparing", "ebox-besparing-menen", "ebox-wervik"]
    assert [m["forked_from"] for m in alone["family"]] == [None, "ebox-besparing", "ebox-besparing-menen"]
    assert [m["owner"] for m in alone["family"]] == ["kortrijk", "menen", "wervik"]
    hint = run_cli("compare", "ebox-besparing").stdout
    assert "proeftuin compare ebox-besparing --family" in hint and "ebox-wervik" in hint

    for start in ("ebox-besparing", "ebox-wervik"):  # the same family from any member
        runs = run_cli.json("compare", start, "--family")["runs"]
        assert len(runs) == 4
        assert {(r["pilot"], r["organisation"]) for r in runs} == {
            ("ebox-besparing", "kortrijk"), ("ebox-besparing-menen", "menen"), ("ebox-wervik", "wervik")}
        errors = [r["metrics"]["forecast_mae"] for r in runs]
        assert errors == sorted(errors), "lower forecast_mae is better: best first"
    by_org = run_cli.json("compare", "ebox-besparing", "--family", "--by", "organisation")["runs"]
    assert sorted(r["organisation"] for r in by_org) == ["kortrijk", "menen", "wervik"]
    best_menen = next(r for r in by_org if r["organisation"] == "menen")
    assert best_menen["pilot"] == "ebox-besparing-menen"
    assert {r["run_id"] for r in by_org} >= {original["run_id"], wervik["run_id"]}
    assert menen["run_id"] in {r["run_id"] for r in run_cli.json("compare", "ebox-wervik", "--family")["runs"]}

    table = run_cli("compare", "ebox-wervik", "--family").stdout
    assert "Familie van ebox-wervik: ebox-besparing (Kortrijk, origineel), ebox-besparing-menen (Menen, kopie van " \
           "ebox-besparing), ebox-wervik (Wervik, kopie van ebox-besparing-menen)." in table
    header, *lines = [line for line in table.splitlines() if line.startswith(("pilot", "ebox"))]
    assert header.split()[:3] == ["pilot", "run", "organisatie"]
    assert {line.split()[0] for line in lines} == {"ebox-besparing", "ebox-besparing-menen", "ebox-wervik"}
    assert "--family" not in table  # no hint to use what you are already using


def test_compare_family_of_a_pilot_without_runs_or_forks(run_cli, pilots_copy: Path):
    out = run_cli.json("compare", "digitale-maturiteit", "--family")
    assert out["runs"] == [] and [m["slug"] for m in out["family"]] == ["digitale-maturiteit"]
    text = run_cli("compare", "digitale-maturiteit", "--family").stdout
    assert "Nog geen runs voor de familie van digitale-maturiteit" in text and "proeftuin run" in text
    assert "Onbekende pilot" in run_cli("compare", "bestaat-niet", "--family", code=1).stderr
