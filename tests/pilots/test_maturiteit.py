"""Digitale maturiteit: scores per DigComp area, profiles with a track, aggregates only for groups >= 5."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import PILOTS, python_without_pickle

from proeftuin.engines.survey import AREAS, GROUPS, ITEMS, MIN_GROUP, aggregate, area_scores, generate_respondents
from proeftuin.errors import DataError
from proeftuin.pilot import import_file, load_pilot

PILOT = PILOTS / "digitale-maturiteit"


def test_manifest_forbids_decisions_about_individual_employees():
    manifest = load_pilot(PILOT).manifest
    assert any("individuele medewerkers" in r for r in manifest.restrictions)
    assert manifest.template == "survey-profiles" and manifest.task == "clustering"
    assert not manifest.personal_data


def test_generator_is_documented_reproducible_and_covers_every_group():
    frame = generate_respondents(600, seed=7)
    shipped = pd.read_csv(PILOT / "data" / "respondenten.csv")
    pd.testing.assert_frame_equal(frame, shipped, check_dtype=False)
    assert set(frame["doelgroep"]) == set(GROUPS)
    assert frame[ITEMS].min().min() >= 1 and frame[ITEMS].max().max() <= 5
    assert "generate_respondents(600, seed=7)" in (PILOT / "data" / "README.md").read_text(encoding="utf-8")


def test_scores_run_from_0_to_100():
    answers = pd.DataFrame([{item: 1 for item in ITEMS}, {item: 5 for item in ITEMS}])
    scores = area_scores(answers)
    assert list(scores.columns) == list(AREAS)
    assert scores.iloc[0].tolist() == [0.0] * 5 and scores.iloc[1].tolist() == [100.0] * 5


def test_small_groups_are_never_published():
    frame = generate_respondents(200, seed=3)
    table = aggregate(frame)
    small = table[table["respondenten"] < MIN_GROUP]
    assert len(small) and small[list(AREAS)].isna().all().all() and not small["gepubliceerd"].any()
    big = table[table["respondenten"] >= MIN_GROUP]
    assert big[list(AREAS)].notna().all().all()
    region = table[(table["organisatie"] == "regio") & (table["doelgroep"] == "alle doelgroepen")].iloc[0]
    assert region["respondenten"] == 200


@pytest.mark.parametrize("bad", [0, 6, "veel"])
def test_answers_outside_1_to_5_get_a_dutch_message(bad):
    answers = pd.DataFrame([{item: 3 for item in ITEMS}])
    answers["veiligheid_2"] = bad
    with pytest.raises(DataError) as err:
        area_scores(answers)
    assert "veiligheid_2" in err.value.message and "1 tot 5" in err.value.message


def test_run_promotes_a_champion_that_profiles_in_a_new_process(run_cli, fresh_store):
    result = run_cli.json("run", "digitale-maturiteit", "--param", "max_rows=300")
    assert result["champion"] is True and result["metrics"]["profiles_used"] == 4
    code = (
        "import json, mlflow, pandas as pd\n"
        "from proeftuin import tracking\nfrom proeftuin.settings import get_settings\n"
        "from proeftuin.engines.survey import ITEMS\n"
        "tracking.connect(get_settings())\n"
        "m = mlflow.pyfunc.load_model('models:/digitale-maturiteit@champion')\n"
        "out = m.predict(pd.DataFrame([{i: 1 for i in ITEMS}, {i: 5 for i in ITEMS}]))\n"
        "print(json.dumps(out[['profiel', 'opleidingstraject']].to_dict(orient='records')))\n"
    )
    low, high = json.loads(python_without_pickle(code, fresh_store))
    assert low["profiel"].startswith("1.") and high["profiel"].startswith("4.")
    assert "traject" in low["opleidingstraject"].lower()


def test_demo_builds_and_shows_a_profile():
    pipeline = load_pilot(PILOT).pipeline()
    params = load_pilot(PILOT).params({"max_rows": "200"})
    model = pipeline.train(pipeline.load_data(params), params)
    demo = import_file("proeftuin_pilots.digitale_maturiteit.demo_test", PILOT / "demo.py")
    blocks = demo.build_demo(model)
    fn = next(d.fn for d in blocks.fns.values() if d.api_name == "predict")
    text, scores = fn(1, 1, 1, 1, 1)
    assert "Profiel: 1." in text and "AI-systeem" in text and scores["score (0-100)"].tolist() == [0.0] * 5


def test_bad_answers_file_stops_the_run(run_cli, pilots_copy: Path):
    data = pilots_copy / "digitale-maturiteit" / "data" / "respondenten.csv"
    frame = pd.read_csv(data)
    data.unlink()
    frame.loc[3, "content_1"] = 9
    frame.to_csv(data, index=False)
    result = run_cli("run", "digitale-maturiteit", code=1)
    assert "content_1" in result.stderr
